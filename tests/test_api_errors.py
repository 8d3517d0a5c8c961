"""Every API error is JSON in one shape; none carries a stack trace."""

import pytest
from django.conf import settings
from django.test import RequestFactory
from rest_framework.test import APIClient

from jobmatch_site.api import server_error

pytestmark = pytest.mark.django_db


def test_debug_is_off_unless_the_environment_turns_it_on():
    assert settings.DEBUG is False  # tracebacks in error pages need DEBUG


def test_an_unknown_api_url_is_a_json_404(acme, api_client):
    response = api_client(acme).get("/api/v1/nothing-here/")
    assert (response.status_code, response.json()) == (404, {"detail": "not found", "field": None})


def test_a_server_error_on_the_api_answers_json_without_a_traceback():
    response = server_error(RequestFactory().get("/api/v1/vacancies/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "Traceback" not in body and "File " not in body


def test_a_missing_or_malformed_key_is_a_json_401_naming_the_scheme(db):
    for header in (None, "Api-Key nonsense", "Api-Key jm_deadbeef_not-the-secret"):
        client = APIClient()
        if header:
            client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/vacancies/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Api-Key"
        assert set(response.json()) == {"detail", "field"}


def test_a_body_that_is_not_json_is_a_415(acme, api_client):
    response = api_client(acme).post("/api/v1/vacancies/", {"external_id": "v1", "title": "Cook"})  # a form
    assert response.status_code == 415
    assert set(response.json()) == {"detail", "field"}


def test_the_schema_documents_every_endpoint_with_distinct_operation_ids(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) >= 19
    assert {"vacancies_list", "candidates_list", "vacancies_bulk_upsert", "api_keys_create", "search"} <= set(ids)
    for op in operations:
        assert {"401", "403", "429"} <= set(op["responses"]), op["operationId"]
        assert op["responses"]["429"]["headers"]["Retry-After"]
