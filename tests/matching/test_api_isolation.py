"""A key of tenant A can read, list, search, change or delete nothing of tenant B: B's ids answer like missing ones."""

import pytest

from matching.models import Kind, Vacancy
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(globex):
    return {
        "vacancy": vacancy(globex, "Welder", external_id="shared-1"),
        "candidate": candidate(globex, "Welder", external_id="shared-2"),
    }


@pytest.mark.parametrize("kind", ["vacancies", "candidates"])
def test_another_tenants_row_reads_as_missing(acme, globex, theirs, api_client, kind):
    row = theirs["vacancy" if kind == "vacancies" else "candidate"]
    client = api_client(acme)
    assert client.get(f"/api/v1/{kind}/{row.id}/").status_code == 404
    assert client.get(f"/api/v1/{kind}/999999999/").status_code == 404  # the same answer as an id never used


@pytest.mark.parametrize("kind", ["vacancies", "candidates"])
def test_another_tenants_row_cannot_be_changed_or_deleted(acme, globex, theirs, api_client, kind):
    row = theirs["vacancy" if kind == "vacancies" else "candidate"]
    client = api_client(acme)
    assert client.patch(f"/api/v1/{kind}/{row.id}/", {"title": "Hacked"}, format="json").status_code == 404
    assert (
        client.put(f"/api/v1/{kind}/{row.id}/", {"external_id": "x", "title": "Hacked"}, format="json").status_code
        == 404
    )
    assert client.delete(f"/api/v1/{kind}/{row.id}/").status_code == 404
    with tenant_scope(globex.id):
        assert Kind(kind).record_model.objects.get(pk=row.id).title == "Welder"


@pytest.mark.parametrize("kind", ["vacancies", "candidates"])
def test_lists_and_external_id_lookups_show_only_the_callers_rows(acme, globex, theirs, api_client, kind):
    ours = vacancy(acme, "Cook") if kind == "vacancies" else candidate(acme, "Cook")
    client = api_client(acme)
    listed = client.get(f"/api/v1/{kind}/").json()["results"]
    assert [row["id"] for row in listed] == [ours.id]
    by_external_id = client.get(f"/api/v1/{kind}/", {"external_id": "shared-1" if kind == "vacancies" else "shared-2"})
    assert by_external_id.json()["results"] == []


def test_searching_by_another_tenants_vacancy_reads_as_missing(acme, globex, theirs, api_client):
    response = api_client(acme).post("/api/v1/search/", {"vacancy_id": theirs["vacancy"].id}, format="json")
    assert response.status_code == 404


def test_a_twin_candidate_in_another_tenant_is_never_returned(acme, globex, theirs, api_client):
    ours = vacancy(acme, "Welder")
    mine = candidate(acme, "Welder")
    results = api_client(acme).post("/api/v1/search/", {"vacancy_id": ours.id}, format="json").json()["results"]
    assert [hit["id"] for hit in results] == [mine.id]


def test_free_text_search_returns_only_the_callers_rows(acme, globex, theirs, api_client):
    mine = candidate(acme, "Welder", external_id="mine-1")  # a twin of theirs: an empty answer would not pass
    response = api_client(acme).post("/api/v1/search/", {"text": "welder", "kind": "candidates"}, format="json")
    assert [hit["id"] for hit in response.json()["results"]] == [mine.id]


def test_a_bulk_upsert_naming_another_tenants_external_ids_creates_the_callers_own_rows(
    acme, globex, theirs, api_client
):
    response = api_client(acme).post(
        "/api/v1/vacancies/bulk/", {"rows": [{"external_id": "shared-1", "title": "Baker"}]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["created"] == 1
    with tenant_scope(globex.id):
        assert Vacancy.objects.get(external_id="shared-1").title == "Welder"
    with tenant_scope(acme.id):
        assert Vacancy.objects.get(external_id="shared-1").title == "Baker"


def test_searching_by_another_tenants_candidate_reads_as_missing(acme, globex, theirs, api_client):
    response = api_client(acme).post("/api/v1/search/", {"candidate_id": theirs["candidate"].id}, format="json")
    assert response.status_code == 404


def test_a_twin_vacancy_in_another_tenant_is_never_returned_for_a_candidate(acme, globex, theirs, api_client):
    mine = vacancy(acme, "Welder")
    ours = candidate(acme, "Welder")
    results = api_client(acme).post("/api/v1/search/", {"candidate_id": ours.id}, format="json").json()["results"]
    assert [hit["id"] for hit in results] == [mine.id]


@pytest.mark.parametrize("kind", ["vacancies", "candidates"])
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_the_404_for_another_tenants_row_is_word_for_word_the_404_for_an_unused_id(
    acme, globex, theirs, api_client, kind, method
):
    row = theirs["vacancy" if kind == "vacancies" else "candidate"]
    client = api_client(acme)
    body = {"external_id": "x", "title": "y"}
    theirs_answer = getattr(client, method)(f"/api/v1/{kind}/{row.id}/", body, format="json")
    unused = getattr(client, method)(f"/api/v1/{kind}/{row.id + 10**9}/", body, format="json")
    assert theirs_answer.status_code == unused.status_code == 404
    assert theirs_answer.json()["detail"].replace(str(row.id), "N") == unused.json()["detail"].replace(
        str(row.id + 10**9), "N"
    )


@pytest.mark.parametrize("kind", ["vacancies", "candidates"])
def test_the_text_filter_never_matches_another_tenants_external_id_or_title(acme, globex, theirs, api_client, kind):
    mine = (vacancy if kind == "vacancies" else candidate)(acme, "Senior welder", external_id="mine-1", encode=False)
    client = api_client(acme)
    for q in ("shared-1", "shared-2"):
        assert client.get(f"/api/v1/{kind}/", {"q": q}).json()["results"] == []
    assert [row["id"] for row in client.get(f"/api/v1/{kind}/", {"q": "Welder"}).json()["results"]] == [mine.id]


@pytest.mark.parametrize("kind", ["vacancies", "candidates"])
def test_a_bulk_upsert_naming_another_tenants_row_id_is_refused_and_changes_nothing(
    acme, globex, theirs, api_client, kind
):
    row = theirs["vacancy" if kind == "vacancies" else "candidate"]
    rows = [{"id": row.id, "external_id": row.external_id, "title": "Hacked"}]
    response = api_client(acme).post(f"/api/v1/{kind}/bulk/", {"rows": rows}, format="json")
    assert (response.status_code, response.json()["errors"][0]["field"]) == (400, "id")
    with tenant_scope(globex.id):
        assert Kind(kind).record_model.objects.get(pk=row.id).title == "Welder"
    with tenant_scope(acme.id):
        assert not Kind(kind).record_model.objects.exists()
