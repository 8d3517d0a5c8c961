"""Shortlists (#18): a vacancy's candidates in a pipeline with notes, bulk actions, CSV export; a good mark adds to
the shortlist and a bad one does not; another tenant's entries read as missing on every page and endpoint."""

import csv
import io

import pytest

from matching.services import delete_record
from shortlists.models import ShortlistEntry
from shortlists.services import add_to_shortlist
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(acme):
    job = vacancy(acme, "Python developer", external_id="V-PY", encode=False)
    people = [candidate(acme, title, external_id=f"C-{i}", encode=False) for i, title in enumerate(["Dev", "Ops"])]
    return job, people


def _entries(acme) -> dict[str, str]:
    with tenant_scope(acme.id):
        return dict(ShortlistEntry.objects.values_list("candidate__external_id", "status"))


def test_a_good_mark_adds_to_the_shortlist_and_a_bad_one_does_not(acme, acme_admin, rows):
    job, (dev, ops) = rows
    for person, label in ((dev, "good"), (ops, "bad")):
        pair = {"vacancy_id": job.pk, "candidate_id": person.pk, "query": "vacancy", "label": label}
        assert acme_admin.post("/feedback/", pair, HTTP_HX_REQUEST="true").status_code == 200
    assert _entries(acme) == {"C-0": "shortlisted"}


def test_bulk_add_then_move_then_remove(acme, acme_admin, rows):
    job, (dev, ops) = rows
    url = f"/vacancies/{job.pk}/shortlist/bulk/"
    ids = [dev.pk, ops.pk]
    assert acme_admin.post(url, {"action": "add", "candidate_ids": ids, "status": "shortlisted"}).status_code == 302
    assert _entries(acme) == {"C-0": "shortlisted", "C-1": "shortlisted"}
    acme_admin.post(url, {"action": "move", "candidate_ids": [ops.pk], "status": "interviewing"})
    assert _entries(acme) == {"C-0": "shortlisted", "C-1": "interviewing"}
    acme_admin.post(url, {"action": "add", "candidate_ids": ids, "status": "hired"})  # adding again moves no one
    assert _entries(acme) == {"C-0": "shortlisted", "C-1": "interviewing"}
    acme_admin.post(url, {"action": "remove", "candidate_ids": [dev.pk]})
    assert _entries(acme) == {"C-1": "interviewing"}


@pytest.mark.parametrize(
    ("post", "words"),
    [
        ({"action": "add"}, "select at least one candidate"),
        ({"action": "move", "candidate_ids": ["1"], "status": "promoted"}, "status must be one of"),
        ({"action": "fly", "candidate_ids": ["1"]}, "choose what to do"),
        ({"action": "add", "candidate_ids": ["x"]}, "is not a number"),
    ],
)
def test_a_bad_bulk_request_is_a_400_that_says_what_to_fix(acme, acme_admin, rows, post, words):
    job, (dev, _) = rows
    post = post | ({"candidate_ids": [dev.pk]} if post.get("candidate_ids") == ["1"] else {})
    response = acme_admin.post(f"/vacancies/{job.pk}/shortlist/bulk/", post)
    assert response.status_code == 400
    assert words in response.content.decode().lower()


def test_an_entrys_status_and_note_change_and_a_bad_status_is_refused(acme, acme_admin, rows):
    job, (dev, _) = rows
    with tenant_scope(acme.id):
        (entry,) = add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[dev.pk])
    ok = acme_admin.post(
        f"/shortlist/{entry.pk}/", {"status": "contacted", "note": "called Monday"}, HTTP_HX_REQUEST="true"
    )
    assert ok.status_code == 200 and "Saved." in ok.content.decode()
    bad = acme_admin.post(f"/shortlist/{entry.pk}/", {"status": "promoted", "note": "x" * 2001}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert "status must be one of" in bad.content.decode()
    with tenant_scope(acme.id):
        entry.refresh_from_db()
    assert (entry.status, entry.note) == ("contacted", "called Monday")


def test_the_csv_export_lists_each_entry_and_defuses_formulas(acme, acme_admin, rows):
    job, (dev, _) = rows
    with tenant_scope(acme.id):
        add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[dev.pk], note="=HYPERLINK(1)")
    response = acme_admin.get(f"/vacancies/{job.pk}/shortlist.csv")
    assert response["Content-Type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["candidate_external_id"], row["status"], row["note"]) == ("C-0", "shortlisted", "'=HYPERLINK(1)")


def test_the_shortlist_page_shows_the_pipeline_with_counts(acme, acme_admin, rows):
    job, (dev, ops) = rows
    with tenant_scope(acme.id):
        add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[dev.pk, ops.pk])
    page = acme_admin.get(f"/vacancies/{job.pk}/shortlist/").content.decode()
    assert 'data-status="shortlisted">shortlisted <span class="count">2</span>' in page
    assert 'data-external-id="C-0"' in page and 'data-external-id="C-1"' in page


def test_deleting_a_candidate_removes_them_from_every_shortlist(acme, rows):
    job, (dev, _) = rows
    with tenant_scope(acme.id):
        add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[dev.pk])
        delete_record(tenant=acme, record=dev)
        assert not ShortlistEntry.objects.exists()


def test_another_tenants_shortlist_is_a_404_on_every_page(acme, globex, acme_admin):
    job = vacancy(globex, "Secret", encode=False)
    person = candidate(globex, "Secret", encode=False)
    with tenant_scope(globex.id):
        (entry,) = add_to_shortlist(tenant=globex, vacancy=job, candidate_ids=[person.pk])
    assert acme_admin.get(f"/vacancies/{job.pk}/shortlist/").status_code == 404
    assert acme_admin.get(f"/vacancies/{job.pk}/shortlist.csv").status_code == 404
    assert acme_admin.post(f"/shortlist/{entry.pk}/", {"status": "hired"}).status_code == 404
    bulk = {"action": "move", "candidate_ids": [person.pk], "status": "hired"}
    assert acme_admin.post(f"/vacancies/{job.pk}/shortlist/bulk/", bulk).status_code == 404
    with tenant_scope(globex.id):
        assert ShortlistEntry.objects.get().status == "shortlisted"


def test_another_tenants_candidate_cannot_be_put_on_our_shortlist(acme, globex, acme_admin, rows):
    job, _ = rows
    theirs = candidate(globex, "Secret", encode=False)
    response = acme_admin.post(f"/vacancies/{job.pk}/shortlist/bulk/", {"action": "add", "candidate_ids": [theirs.pk]})
    assert response.status_code == 404
    assert _entries(acme) == {}


def test_the_api_adds_lists_changes_and_removes_entries(acme, api_client, rows):
    job, (dev, _) = rows
    client = api_client(acme)
    created = client.post("/api/v1/shortlists/", {"vacancy_id": job.pk, "candidate_id": dev.pk}, format="json")
    assert created.status_code == 201 and created.json()["status"] == "shortlisted"
    again = client.post("/api/v1/shortlists/", {"vacancy_id": job.pk, "candidate_id": dev.pk}, format="json")
    assert again.status_code == 200
    entry_id = created.json()["id"]
    moved = client.patch(f"/api/v1/shortlists/{entry_id}/", {"status": "hired", "note": "start 1 March"}, format="json")
    assert moved.json()["status"] == "hired"
    listed = client.get("/api/v1/shortlists/", {"vacancy_id": job.pk, "status": "hired"}).json()
    assert [e["id"] for e in listed] == [entry_id]
    assert client.delete(f"/api/v1/shortlists/{entry_id}/").status_code == 204
    assert client.get(f"/api/v1/shortlists/{entry_id}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vacancy_id": "x", "candidate_id": 1}, "vacancy_id"),
        ({"status": "promoted"}, "status"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_a_bad_api_body_is_a_400_naming_the_field(acme, api_client, rows, body, field):
    job, (dev, _) = rows
    full = {"vacancy_id": job.pk, "candidate_id": dev.pk} | body
    response = api_client(acme).post("/api/v1/shortlists/", full, format="json")
    assert response.status_code == 400
    if field:
        assert response.json()["field"] == field


def test_another_tenants_entry_is_a_404_on_the_api(acme, globex, api_client):
    job, person = vacancy(globex, "Secret", encode=False), candidate(globex, "Secret", encode=False)
    with tenant_scope(globex.id):
        (entry,) = add_to_shortlist(tenant=globex, vacancy=job, candidate_ids=[person.pk])
    client = api_client(acme)
    assert client.get(f"/api/v1/shortlists/{entry.pk}/").status_code == 404
    assert client.patch(f"/api/v1/shortlists/{entry.pk}/", {"status": "hired"}, format="json").status_code == 404
    assert client.delete(f"/api/v1/shortlists/{entry.pk}/").status_code == 404
    assert client.get("/api/v1/shortlists/", {"vacancy_id": job.pk}).status_code == 404
    assert client.get("/api/v1/shortlists/").json() == []
    body = {"vacancy_id": job.pk, "candidate_id": person.pk}
    assert client.post("/api/v1/shortlists/", body, format="json").status_code == 404


def test_a_candidates_page_lists_the_shortlists_they_are_on(acme, acme_admin, rows):
    job, (dev, _) = rows
    with tenant_scope(acme.id):
        add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[dev.pk], status="contacted")
    page = acme_admin.get(f"/candidates/{dev.pk}/").content.decode()
    assert 'id="on-shortlists"' in page and "Python developer (V-PY)</a>: contacted" in page


def test_admin_refuses_a_note_past_the_limit_on_its_field(acme, acme_admin, rows):
    job, (dev, _) = rows
    with tenant_scope(acme.id):
        (entry,) = add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[dev.pk])
    form = {"vacancy": job.pk, "candidate": dev.pk, "status": "hired", "note": "x" * 2001}
    response = acme_admin.post(f"/admin/shortlists/shortlistentry/{entry.pk}/change/", form)
    assert response.status_code == 200
    assert "longer than 2000" in response.context["adminform"].form.errors["note"][0]
    with tenant_scope(acme.id):
        entry.refresh_from_db()
    assert entry.status == "shortlisted"
