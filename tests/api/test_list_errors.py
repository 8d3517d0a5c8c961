"""A list endpoint's refusals name the query parameter the caller sent, and a record's languages are capped."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"language": "english"}, "language"),
        ({"language": "en:Z9"}, "language"),
        ({"city": "]\x00"}, "city"),
        ({"country": "Germany"}, "country"),
        ({"custom.seniority": "x\x00"}, "custom.seniority"),
    ],
    ids=["language-form", "language-level", "city-nul", "country", "custom-nul"],
)
def test_a_bad_list_filter_is_refused_naming_its_query_parameter(acme, api_client, params, field):
    response = api_client(acme).get("/api/v1/vacancies/", params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


def test_a_record_with_more_than_50_languages_is_refused(acme, api_client):
    codes = [a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz"][:51]
    body = {"external_id": "v1", "title": "Cook", "languages": {code: "B2" for code in codes}}
    response = api_client(acme).post("/api/v1/vacancies/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "languages" and "50" in response.json()["detail"]


def test_a_record_with_50_languages_is_accepted(acme, api_client):
    codes = [a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz"][:50]
    body = {"external_id": "v1", "title": "Cook", "languages": ";".join(f"{code}:B2" for code in codes)}
    assert api_client(acme).post("/api/v1/vacancies/", body, format="json").status_code == 201
