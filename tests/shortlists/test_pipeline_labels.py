"""Per-tenant pipeline labels (#18): the statuses stay fixed keys; a tenant admin renames their team's steps, and
every page and the CSV export show the team's words. Another team keeps its own; a recruiter cannot change them."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client

from shortlists.models import PipelineLabel
from shortlists.services import add_to_shortlist
from tenants.scoping import tenant_scope
from tenants.services import ensure_member
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db
URL = "/settings/pipeline/"
DEFAULTS = {
    "label_shortlisted": "shortlisted", "label_contacted": "contacted", "label_interviewing": "interviewing",
    "label_rejected": "rejected", "label_hired": "hired",
}  # fmt: skip


@pytest.fixture
def entry(acme):
    job = vacancy(acme, "Python developer", external_id="V-PY")
    person = candidate(acme, "Python developer", external_id="C-1")  # encoded: it shows in the vacancy's matches
    with tenant_scope(acme.id):
        (entry,) = add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[person.pk], status="interviewing")
    return entry


def test_a_tenant_admin_renames_a_step_and_pages_and_export_show_it(acme, acme_admin, entry):
    form = acme_admin.get(URL)
    assert form.status_code == 200 and 'value="interviewing"' in form.content.decode()
    saved = acme_admin.post(URL, DEFAULTS | {"label_interviewing": "Interview booked"}, follow=True)
    assert "Saved" in saved.content.decode()
    shortlist = acme_admin.get(f"/vacancies/{entry.vacancy_id}/shortlist/").content.decode()
    assert 'data-status="interviewing">Interview booked <span class="count">1</span>' in shortlist
    assert '<option value="interviewing" selected>Interview booked</option>' in shortlist
    dashboard = acme_admin.get("/").content.decode()
    assert '<span class="count">1</span> Interview booked</li>' in dashboard
    matches = acme_admin.get(f"/vacancies/{entry.vacancy_id}/").content.decode()
    assert '<option value="interviewing">Interview booked</option>' in matches
    person = acme_admin.get(f"/candidates/{entry.candidate_id}/").content.decode()
    assert "(V-PY)</a>: Interview booked" in person
    exported = acme_admin.get(f"/vacancies/{entry.vacancy_id}/shortlist.csv").content.decode()
    (row,) = list(csv.DictReader(io.StringIO(exported)))
    assert (row["status"], row["status_label"]) == ("interviewing", "Interview booked")


def test_the_labels_form_names_every_bad_label_at_once(acme, acme_admin):
    bad = DEFAULTS | {"label_contacted": "", "label_hired": "Shortlisted", "label_rejected": "x" * 41}
    response = acme_admin.post(URL, bad)
    errors = response.context["form"].errors
    assert response.status_code == 200
    assert sorted(errors) == ["label_contacted", "label_hired", "label_rejected"]
    assert "40 characters" in errors["label_rejected"][0] and "already" in errors["label_hired"][0]
    with tenant_scope(acme.id):
        assert not PipelineLabel.objects.exists()  # nothing saved while any label is wrong


def test_a_recruiter_cannot_rename_steps(acme):
    rob = User.objects.create_user("rob", password="pw-rob-12345")
    ensure_member(tenant=acme, user=rob, role="recruiter")
    client = Client()
    client.force_login(rob)
    assert client.get(URL).status_code == 403
    assert client.post(URL, DEFAULTS | {"label_hired": "Won"}).status_code == 403
    with tenant_scope(acme.id):
        assert not PipelineLabel.objects.exists()


def test_another_teams_labels_are_its_own(acme, globex, acme_admin, entry):
    acme_admin.post(URL, DEFAULTS | {"label_interviewing": "Interview booked"})
    with tenant_scope(globex.id):
        assert not PipelineLabel.objects.exists()  # RLS and the scope: acme's labels are not globex's rows
    with tenant_scope(acme.id):
        theirs = PipelineLabel.objects.get()
    gus = User.objects.create_user("gus", password="pw-gus-12345", is_staff=True)
    ensure_member(tenant=globex, user=gus, role="admin")
    client = Client()
    client.force_login(gus)
    assert "Interview booked" not in client.get(URL).content.decode()
    assert client.get(f"/admin/shortlists/pipelinelabel/{theirs.pk}/change/").status_code == 404


def test_the_api_gives_the_status_key_and_the_teams_label(acme, acme_admin, api_client, entry):
    acme_admin.post(URL, DEFAULTS | {"label_interviewing": "Interview booked"})
    (row,) = api_client(acme).get("/api/v1/shortlists/").json()
    assert (row["status"], row["status_label"]) == ("interviewing", "Interview booked")
