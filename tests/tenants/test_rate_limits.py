"""Per-key rate limits: past the limit a key gets 429 with Retry-After; other keys are unaffected."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_key_past_its_limit_gets_429_with_retry_after(acme, api_client, settings):
    settings.API_RATE_LIMIT = "3/minute"
    client = api_client(acme)
    statuses = [client.get("/api/v1/vacancies/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/vacancies/")
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["field"] is None and "throttled" in refused.json()["detail"].lower()


def test_one_keys_limit_does_not_touch_another_keys(acme, api_client, settings):
    settings.API_RATE_LIMIT = "2/minute"
    busy, other = api_client(acme), api_client(acme)
    assert [busy.get("/api/v1/vacancies/").status_code for _ in range(3)] == [200, 200, 429]  # throttling is on
    assert other.get("/api/v1/vacancies/").status_code == 200


def test_search_has_its_own_tighter_budget(acme, api_client, settings):
    settings.API_SEARCH_RATE_LIMIT = "1/minute"
    client = api_client(acme)
    body = {"text": "welder", "kind": "candidates"}
    assert client.post("/api/v1/search/", body, format="json").status_code == 200
    assert client.post("/api/v1/search/", body, format="json").status_code == 429
    assert client.get("/api/v1/vacancies/").status_code == 200
