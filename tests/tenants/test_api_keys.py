import pytest
from rest_framework.test import APIClient

from tenants.models import ApiKey
from tenants.scoping import tenant_scope
from tenants.services import create_api_key, cross_tenant_authenticate_api_key, revoke_api_key

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_a_hash_of_its_secret(acme):
    key, plaintext = create_api_key(tenant=acme, name="ats")
    with tenant_scope(acme.id):
        stored = ApiKey.objects.get(pk=key.pk)
    assert plaintext.split("_")[2] not in (stored.secret_hash, stored.prefix, stored.name)
    assert cross_tenant_authenticate_api_key(raw=plaintext) == key


def test_a_revoked_key_is_refused_with_401(acme):
    key, plaintext = create_api_key(tenant=acme, name="ats")
    revoke_api_key(key=key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    assert client.get("/api/v1/vacancies/").status_code == 401


def test_a_tampered_secret_is_refused(acme):
    _, plaintext = create_api_key(tenant=acme, name="ats")
    assert cross_tenant_authenticate_api_key(raw=plaintext[:-2] + "xx") is None


def test_a_request_without_credentials_is_refused_with_401(db):
    assert APIClient().get("/api/v1/candidates/").status_code == 401


def test_a_read_only_key_cannot_write(acme, api_client):
    response = api_client(acme, scopes=["read"]).post(
        "/api/v1/vacancies/", {"external_id": "v1", "title": "Cook"}, format="json"
    )
    assert response.status_code == 403


def test_an_unknown_scope_is_refused_naming_the_field(acme):
    from tenants.errors import TenancyError

    with pytest.raises(TenancyError) as refused:
        create_api_key(tenant=acme, name="ats", scopes=["read", "root"])
    assert refused.value.field == "scopes"
