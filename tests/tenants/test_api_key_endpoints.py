"""Tenant admins manage their keys over the API: the secret is shown once; another tenant's keys are missing."""

import pytest
from rest_framework.test import APIClient

from tenants.models import ApiKey
from tenants.scoping import tenant_scope
from tenants.services import create_api_key

pytestmark = pytest.mark.django_db


def _client_with(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def test_a_created_key_is_shown_once_and_works(acme, api_client):
    admin = api_client(acme, scopes=["admin", "read"])
    created = admin.post("/api/v1/keys/", {"name": "ats", "scopes": ["read"]}, format="json")
    assert created.status_code == 201
    secret = created.json()["key"]
    assert _client_with(secret).get("/api/v1/vacancies/").status_code == 200
    listed = admin.get("/api/v1/keys/").json()
    assert {row["name"] for row in listed} == {"ats", "test"}
    assert all("key" not in row and secret not in str(row) for row in listed)


def test_a_revoked_key_is_refused_from_then_on(acme, api_client):
    admin = api_client(acme, scopes=["admin"])
    key, secret = create_api_key(tenant=acme, name="ats", scopes=["read"])
    assert admin.delete(f"/api/v1/keys/{key.id}/").status_code == 204
    assert _client_with(secret).get("/api/v1/vacancies/").status_code == 401
    assert admin.get(f"/api/v1/keys/{key.id}/").json()["revoked_at"] is not None


def test_key_management_needs_the_admin_scope(acme, api_client):
    client = api_client(acme, scopes=["read", "write", "search"])
    assert client.get("/api/v1/keys/").status_code == 403
    assert client.post("/api/v1/keys/", {"name": "x", "scopes": ["read"]}, format="json").status_code == 403


def test_a_key_cannot_create_a_key_with_a_scope_it_lacks(acme, api_client):
    response = api_client(acme, scopes=["admin", "read"]).post(
        "/api/v1/keys/", {"name": "wider", "scopes": ["read", "write"]}, format="json"
    )
    assert (response.status_code, response.json()["field"]) == (403, "scopes")
    with tenant_scope(acme.id):
        assert not ApiKey.objects.filter(name="wider").exists()


def test_another_tenants_key_reads_as_missing_and_cannot_be_revoked(acme, globex, api_client):
    theirs, secret = create_api_key(tenant=globex, name="theirs")
    admin = api_client(acme, scopes=["admin"])
    assert admin.get(f"/api/v1/keys/{theirs.id}/").json() == admin.get("/api/v1/keys/999999999/").json() | {
        "detail": f"API key {theirs.id} not found"
    }
    assert admin.get(f"/api/v1/keys/{theirs.id}/").status_code == 404
    assert admin.delete(f"/api/v1/keys/{theirs.id}/").status_code == 404
    assert "theirs" not in str(admin.get("/api/v1/keys/").json())
    assert _client_with(secret).get("/api/v1/vacancies/").status_code == 200  # still live


def test_an_unknown_scope_or_a_missing_name_is_a_400_naming_the_field(acme, api_client):
    admin = api_client(acme, scopes=["admin", "read"])
    unknown = admin.post("/api/v1/keys/", {"name": "x", "scopes": ["root"]}, format="json")
    nameless = admin.post("/api/v1/keys/", {"scopes": ["read"]}, format="json")
    assert (unknown.status_code, unknown.json()["field"]) == (400, "scopes.0")  # the first item
    assert (nameless.status_code, nameless.json()["field"]) == (400, "name")
