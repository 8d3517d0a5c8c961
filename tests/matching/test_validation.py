"""Bad input is refused naming the field, and nothing already stored changes."""

import pytest

from matching.models import Vacancy
from matching.services.records import MAX_DESCRIPTION_CHARS
from tenants.scoping import tenant_scope
from tests.factories import vacancy

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "v1"}, "title"),
        ({"external_id": "v1", "title": "   "}, "title"),
        ({"title": "Cook"}, "external_id"),
        ({"external_id": "v1", "title": "Cook", "languages": {"en": "D1"}}, "languages"),
        ({"external_id": "v1", "title": "Cook", "languages": "en-B2"}, "languages"),
        ({"external_id": "v1", "title": "Cook", "description": "x" * (MAX_DESCRIPTION_CHARS + 1)}, "description"),
        ({"external_id": "v1", "title": "Cook", "country": "Germany"}, "country"),
        ({"external_id": "v1", "title": "Cook", "latitude": 91, "longitude": 0}, "latitude"),
        ({"external_id": "v1", "title": "Cook", "salary": 10}, "salary"),
        ({"external_id": "v1", "title": 42}, "title"),
        ({"external_id": "v1", "title": "Cook", "custom_fields": {"team": {"nested": 1}}}, "custom_fields.team"),
    ],
)
def test_a_bad_record_is_refused_with_400_naming_the_field(acme, api_client, body, field):
    response = api_client(acme).post("/api/v1/vacancies/", body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == field
    with tenant_scope(acme.id):
        assert not Vacancy.objects.exists()


def test_a_refused_update_leaves_the_stored_row_as_it_was(acme, api_client):
    row = vacancy(acme, "Cook", languages={"en": "B2"})
    response = api_client(acme).patch(
        f"/api/v1/vacancies/{row.id}/", {"title": "Chef", "languages": {"en": "Z9"}}, format="json"
    )
    assert response.status_code == 400
    with tenant_scope(acme.id):
        row.refresh_from_db()
    assert (row.title, row.languages) == ("Cook", {"en": "B2"})


def test_a_bulk_upsert_with_one_bad_row_writes_nothing_and_names_every_bad_row(acme, api_client):
    vacancy(acme, "Cook", external_id="keep")
    rows = [
        {"external_id": "keep", "title": "Chef"},
        {"external_id": "new", "title": ""},
        {"external_id": "n2", "title": "Baker", "languages": {"xx1": "B2"}},
    ]
    response = api_client(acme).post("/api/v1/vacancies/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, "title"), (2, "languages")]
    with tenant_scope(acme.id):
        assert list(Vacancy.objects.values_list("external_id", "title")) == [("keep", "Cook")]


def test_a_bulk_upsert_of_more_than_1000_rows_is_refused(acme, api_client):
    rows = [{"external_id": f"v{i}", "title": "Cook"} for i in range(1001)]
    response = api_client(acme).post("/api/v1/vacancies/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "rows"


def test_a_duplicate_external_id_is_a_conflict(acme, api_client):
    vacancy(acme, "Cook", external_id="v1")
    response = api_client(acme).post("/api/v1/vacancies/", {"external_id": "v1", "title": "Chef"}, format="json")
    assert response.status_code == 409
    assert response.json()["field"] == "external_id"


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"salary": 1}, "filters.salary"),
        ({"languages": {"en": "Q"}}, "filters.languages"),
        ({"country": "Deutschland"}, "filters.country"),
    ],
)
def test_an_unknown_or_bad_search_filter_is_refused_naming_it(acme, api_client, filters, field):
    response = api_client(acme).post(
        "/api/v1/search/", {"text": "cook", "kind": "candidates", "filters": filters}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_a_search_with_k_out_of_range_is_refused(acme, api_client):
    response = api_client(acme).post("/api/v1/search/", {"text": "cook", "kind": "candidates", "k": 0}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "k")


def test_a_nul_character_in_a_list_filter_is_a_400_not_a_server_error(acme, api_client):
    response = api_client(acme).get("/api/v1/candidates/", {"city": "]\x00"})
    assert (response.status_code, response.json()["field"]) == (400, "city")


@pytest.mark.parametrize("name", ["external_id", "q"])
def test_a_nul_character_in_a_list_search_parameter_is_a_400_not_a_server_error(acme, api_client, name):
    response = api_client(acme).get("/api/v1/vacancies/", {name: "\x00o"})
    assert (response.status_code, response.json()["field"]) == (400, name)
