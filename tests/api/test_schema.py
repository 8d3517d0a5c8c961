"""The OpenAPI schema states what the API does: each body its own component, closed objects, the bounds and forms
the services enforce; and where the two disagreed, the behaviour now matches the schema."""

import pytest

from tests.conftest import manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _request_schema(schema: dict, path: str, method: str, media: str = "application/json") -> dict:
    ref = schema["paths"][path][method]["requestBody"]["content"][media]["schema"]
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]] if "$ref" in ref else ref


def test_spectacular_validates_the_schema_without_a_warning():
    result = manage("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr


def test_creating_a_key_is_documented_with_the_key_body_not_the_feedback_one(schema):
    assert set(_request_schema(schema, "/api/v1/keys/", "post")["properties"]) == {"name", "scopes"}
    assert set(_request_schema(schema, "/api/v1/feedback/", "post")["properties"]) >= {"vacancy_id", "label"}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/vacancies/", "post"),
        ("/api/v1/rules/", "post"),
        ("/api/v1/search/", "post"),
        ("/api/v1/keys/", "post"),
    ],
)
def test_request_bodies_are_closed_objects(schema, path, method):
    assert _request_schema(schema, path, method)["additionalProperties"] is False


def test_the_record_and_rule_bounds_are_in_the_schema(schema):
    record = _request_schema(schema, "/api/v1/vacancies/", "post")["properties"]
    assert record["external_id"]["pattern"] == record["title"]["pattern"] == r"\S"
    assert record["languages"]["oneOf"][0]["maxProperties"] == 50 and "pattern" in record["languages"]["oneOf"][1]
    rule = _request_schema(schema, "/api/v1/rules/", "post")["properties"]
    assert (rule["trigger_radius"]["minimum"], rule["trigger_radius"]["maximum"]) == (-1, 1)
    assert (rule["exclude_radius"]["minimum"], rule["exclude_radius"]["maximum"]) == (-1, 1)
    assert rule["note"]["nullable"] is True


def test_search_states_exactly_one_query_and_the_import_its_file(schema):
    search = _request_schema(schema, "/api/v1/search/", "post")
    assert search["oneOf"] == [
        {"required": ["vacancy_id"]},
        {"required": ["candidate_id"]},
        {"required": ["text", "kind"]},
    ]
    upload = _request_schema(schema, "/api/v1/feedback/import/", "post", "multipart/form-data")
    assert upload["required"] == ["file"]


def test_a_false_accept_rate_of_zero_is_documented_as_refused_and_is(schema, acme, api_client):
    rate = _request_schema(schema, "/api/v1/calibration/", "put")["properties"]["max_false_accept_rate"]
    assert (rate["minimum"], rate["exclusiveMinimum"]) == (0, True)
    body = {"target": "max_far", "max_false_accept_rate": 0.0}
    response = api_client(acme, scopes=["admin"]).put("/api/v1/calibration/", body, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "max_false_accept_rate")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/search/", {"text": "cook", "kind": "candidates"}),
        ("/api/v1/keys/", {"name": "k", "scopes": ["read"]}),
        ("/api/v1/feedback/", {"vacancy_id": 1, "candidate_id": 1, "label": "good"}),
    ],
)
def test_an_unknown_body_field_is_refused_as_the_closed_schema_says(acme, api_client, path, body):
    client = api_client(acme, scopes=["read", "write", "search", "admin"])
    response = client.post(path, body | {"typo": 1}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "typo")


def test_normalize_is_documented_with_exactly_one_query_its_results_and_the_503(schema):
    operation = schema["paths"]["/api/v1/normalize/"]["post"]
    body = _request_schema(schema, "/api/v1/normalize/", "post")
    assert body["oneOf"] == [{"required": ["text"]}, {"required": ["vacancy_id"]}, {"required": ["candidate_id"]}]
    assert body["additionalProperties"] is False
    assert {"200", "400", "404", "503"} <= set(operation["responses"])
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][result]["properties"]) == {"encoder", "results"}
