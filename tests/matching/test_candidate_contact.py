"""Candidates are people (#18): an optional name and contact line, shown and exported with shortlists, never encoded
and never used in matching, removed with the candidate; vacancies have neither."""

import csv
import io

import pytest

from matching.models import Candidate, Kind
from matching.services import create_record, upsert_records
from matching.services.imports import import_csv
from shortlists.services import add_to_shortlist
from tenants.scoping import tenant_scope
from tests.factories import vacancy

pytestmark = pytest.mark.django_db
PERSON = {"external_id": "C-1", "title": "Welder", "display_name": "Ana Lima", "contact": "ana@example.org"}


def test_the_candidate_form_stores_a_name_and_contact_and_the_vacancy_form_has_neither(acme, acme_admin):
    response = acme_admin.post("/candidates/new/", PERSON)
    assert response.status_code == 302
    with tenant_scope(acme.id):
        person = Candidate.objects.get(tenant=acme, external_id="C-1")
    assert (person.display_name, person.contact) == ("Ana Lima", "ana@example.org")
    page = acme_admin.get(f"/candidates/{person.pk}/").content.decode()
    assert "Ana Lima" in page and "ana@example.org" in page and "never used in matching" in page
    assert 'name="display_name"' not in acme_admin.get("/vacancies/new/").content.decode()
    assert "Ana Lima" in acme_admin.get("/candidates/").content.decode()


def test_a_name_never_reaches_the_encoder(acme):
    with tenant_scope(acme.id):
        person = create_record(tenant=acme, kind=Kind.CANDIDATES, data=PERSON)
        twin = create_record(
            tenant=acme, kind=Kind.CANDIDATES, data=PERSON | {"external_id": "C-2", "display_name": "Bo"}
        )
    assert person.text_for_encoding == twin.text_for_encoding == "Welder"


def test_a_too_long_name_is_refused_on_its_field_with_the_other_errors(acme, acme_admin):
    response = acme_admin.post("/candidates/new/", PERSON | {"display_name": "x" * 201, "title": ""})
    errors = response.context["form"].errors
    assert "longer than 200" in errors["display_name"][0] and errors["title"] == ["title is required"]


def test_the_api_reads_and_writes_a_candidates_name_and_refuses_one_on_a_vacancy(acme, api_client):
    client = api_client(acme)
    created = client.post("/api/v1/candidates/", PERSON, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["display_name"] == "Ana Lima"
    refused = client.post("/api/v1/vacancies/", PERSON | {"external_id": "V-1"}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] in ("contact", "display_name")


def test_a_csv_name_column_is_the_name_not_a_custom_field(acme):
    raw = b"external_id,title,display_name,contact\nC-1,Welder,Ana Lima,+49 30 1234\n"
    with tenant_scope(acme.id):
        import_csv(tenant=acme, kind=Kind.CANDIDATES, raw=raw)
        person = Candidate.objects.get(tenant=acme, external_id="C-1")
    assert (person.display_name, person.contact, person.custom_fields) == ("Ana Lima", "+49 30 1234", {})


def test_the_shortlist_export_carries_the_name_and_contact(acme, acme_admin):
    job = vacancy(acme, "Welder", encode=False)
    with tenant_scope(acme.id):
        (person_id,) = upsert_records(tenant=acme, kind=Kind.CANDIDATES, rows=[PERSON]).ids
        add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[person_id])
    (row,) = csv.DictReader(io.StringIO(acme_admin.get(f"/vacancies/{job.pk}/shortlist.csv").content.decode()))
    assert (row["display_name"], row["contact"]) == ("Ana Lima", "ana@example.org")
