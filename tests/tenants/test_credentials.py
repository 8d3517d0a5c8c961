"""The API-key lookup and rate-limit counting in one Redis call (tenants/credentials.py): what it caches is never
used after a change, and a request costs one Redis call and no query for its key."""

import pytest
import redis.client
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tenants.models import ApiKey
from tenants.scoping import tenant_scope
from tenants.services import create_api_key, revoke_api_key

pytestmark = pytest.mark.django_db


def _client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    return client


def test_a_key_revoked_after_use_is_refused_on_the_next_request(acme):
    key, plaintext = create_api_key(tenant=acme, name="ats")
    client = _client(plaintext)
    assert client.get("/api/v1/vacancies/").status_code == 200  # now cached
    revoke_api_key(key=key)
    assert client.get("/api/v1/vacancies/").status_code == 401


def test_a_key_deleted_after_use_is_refused_on_the_next_request(acme):
    key, plaintext = create_api_key(tenant=acme, name="ats")
    client = _client(plaintext)
    assert client.get("/api/v1/vacancies/").status_code == 200
    with tenant_scope(acme.id):
        ApiKey.objects.get(pk=key.pk).delete()
    assert client.get("/api/v1/vacancies/").status_code == 401


def test_a_scope_taken_away_after_use_applies_to_the_next_request(acme):
    key, plaintext = create_api_key(tenant=acme, name="ats", scopes=["read", "write"])
    client = _client(plaintext)
    assert client.get("/api/v1/vacancies/").status_code == 200
    with tenant_scope(acme.id):
        key.scopes = ["write"]
        key.save(update_fields=["scopes"])  # admin can edit a key
    assert client.get("/api/v1/vacancies/").status_code == 403


def test_a_wrong_secret_for_a_cached_key_is_refused_and_not_counted(acme, settings):
    settings.API_RATE_LIMIT = "2/minute"
    _, plaintext = create_api_key(tenant=acme, name="ats")
    assert _client(plaintext).get("/api/v1/vacancies/").status_code == 200
    wrong = _client(plaintext[:-2] + ("xx" if not plaintext.endswith("xx") else "yy"))
    assert [wrong.get("/api/v1/vacancies/").status_code for _ in range(3)] == [401, 401, 401]
    assert _client(plaintext).get("/api/v1/vacancies/").status_code == 200  # the owner's budget is untouched


def test_a_warm_key_costs_one_redis_call_and_no_query_for_the_key(acme, monkeypatch):
    _, plaintext = create_api_key(tenant=acme, name="ats")
    client = _client(plaintext)
    body = {"text": "welder", "kind": "candidates"}
    assert client.post("/api/v1/search/", body, format="json").status_code == 200
    calls = []
    for owner, name in ((redis.client.Redis, "execute_command"), (redis.client.Pipeline, "execute")):
        original = getattr(owner, name)
        monkeypatch.setattr(owner, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/api/v1/search/", body, format="json").status_code == 200
    assert len(calls) == 1  # key, generations and both rate limits (api, search)
    assert not [q for q in queries.captured_queries if "tenants_apikey" in q["sql"] or "tenants_tenant" in q["sql"]]
