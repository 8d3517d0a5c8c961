"""The recruiter pages through Django's test client: field errors, refusals that keep what is stored, tenancy."""

import pytest
from django.contrib.auth.models import User

from matching.models import Feedback, Job, Kind, Vacancy
from matching.services import SearchFilters
from matching.services.free_text import parse_free_text
from tenants.middleware import SESSION_TENANT_KEY
from tenants.scoping import tenant_scope
from tenants.services import ensure_member
from tests.factories import candidate, vacancy

GOOD = {"external_id": "V-1", "title": "Python developer", "country": "DE", "city": "Berlin", "languages": "de:B2"}


@pytest.fixture
def recruiter(acme, client):
    user = User.objects.create_user("rob", password="pw-rob-12345")
    ensure_member(tenant=acme, user=user, role="recruiter")
    client.force_login(user)
    return client


def test_a_new_vacancy_with_a_bad_level_shows_the_error_beside_the_field_and_stores_nothing(acme, acme_admin):
    response = acme_admin.post("/vacancies/new/", GOOD | {"languages": "de:Z9"})
    assert response.status_code == 200
    assert response.context["form"].errors["languages"] == ["unknown CEFR level 'Z9' for de (use A1..C2)"]
    assert b"unknown CEFR level" in response.content
    with tenant_scope(acme.id):
        assert not Vacancy.objects.filter(tenant=acme).exists()
    response = acme_admin.post("/vacancies/new/", GOOD | {"custom_fields": "seniority senior"})
    assert "name=value" in response.context["form"].errors["custom_fields"][0]


def test_a_saved_vacancy_redirects_to_its_page_and_a_second_one_with_its_id_is_refused_on_the_field(acme, acme_admin):
    response = acme_admin.post("/vacancies/new/", GOOD | {"custom_fields": "seniority=senior; remote=true"})
    with tenant_scope(acme.id):
        saved = Vacancy.objects.get(tenant=acme, external_id="V-1")
    assert response.status_code == 302 and response.url == f"/vacancies/{saved.pk}/"
    assert saved.custom_fields == {"seniority": "senior", "remote": True}
    assert saved.languages == {"de": "B2"}
    again = acme_admin.post("/vacancies/new/", GOOD | {"title": "Other"})
    assert "external_id" in again.context["form"].errors
    with tenant_scope(acme.id):
        assert Vacancy.objects.get(pk=saved.pk).title == "Python developer"


def test_a_bad_edit_keeps_the_stored_row(acme, acme_admin):
    row = vacancy(acme, "Nurse", external_id="V-9", country="DE", encode=False)
    response = acme_admin.post(f"/vacancies/{row.pk}/edit/", GOOD | {"external_id": "V-9", "country": "Narnia"})
    assert "country" in response.context["form"].errors
    with tenant_scope(acme.id):
        assert Vacancy.objects.get(pk=row.pk).title == "Nurse"
    acme_admin.post(f"/vacancies/{row.pk}/edit/", GOOD | {"external_id": "V-9", "title": "Head nurse"})
    with tenant_scope(acme.id):
        assert Vacancy.objects.get(pk=row.pk).title == "Head nurse"


def test_delete_asks_first_and_removes_on_post(acme, acme_admin):
    row = vacancy(acme, "Nurse", encode=False)
    assert acme_admin.get(f"/vacancies/{row.pk}/delete/").status_code == 200
    with tenant_scope(acme.id):
        assert Vacancy.objects.filter(pk=row.pk).exists()
    assert acme_admin.post(f"/vacancies/{row.pk}/delete/").status_code == 302
    with tenant_scope(acme.id):
        assert not Vacancy.objects.filter(pk=row.pk).exists()


def test_another_tenants_rows_are_a_404_on_every_page(acme, globex, acme_admin):
    theirs_v = vacancy(globex, "Globex secret", encode=False)
    theirs_c = candidate(globex, "Globex person", encode=False)
    ours = candidate(acme, "Our person", encode=False)
    with tenant_scope(globex.id):
        job = Job.objects.create(tenant=globex, kind=Job.Type.IMPORT)
    for path in [
        f"/vacancies/{theirs_v.pk}/",
        f"/vacancies/{theirs_v.pk}/matches/",
        f"/vacancies/{theirs_v.pk}/edit/",
        f"/vacancies/{theirs_v.pk}/delete/",
        f"/candidates/{theirs_c.pk}/",
        f"/jobs/{job.pk}/",
    ]:
        assert acme_admin.get(path).status_code == 404, path
    assert acme_admin.post(f"/vacancies/{theirs_v.pk}/delete/").status_code == 404
    assert acme_admin.post(f"/vacancies/{theirs_v.pk}/edit/", GOOD).status_code == 404
    feedback = {"vacancy_id": theirs_v.pk, "candidate_id": ours.pk, "label": "good"}
    assert acme_admin.post("/feedback/", feedback).status_code == 404
    listing = acme_admin.get("/vacancies/?q=Globex").content
    assert b"Globex secret" not in listing
    with tenant_scope(globex.id):
        assert Vacancy.objects.filter(pk=theirs_v.pk, title="Globex secret").exists()
    with tenant_scope(acme.id):
        assert not Feedback.objects.exists()


def test_switching_to_a_team_you_are_not_in_is_a_404_and_changes_nothing(acme, globex, acme_admin):
    acme_admin.get("/")
    assert acme_admin.post("/tenant/switch/", {"tenant": globex.pk}).status_code == 404
    assert acme_admin.post("/tenant/switch/", {"tenant": "x"}).status_code == 404
    assert acme_admin.session[SESSION_TENANT_KEY] == acme.pk


def test_a_switch_goes_back_to_the_same_section_never_off_site(acme, globex, acme_admin):
    user = User.objects.get(username="ada")
    ensure_member(tenant=globex, user=user, role="recruiter")
    response = acme_admin.post("/tenant/switch/", {"tenant": globex.pk, "next": "/vacancies/"})
    assert response.url == "/vacancies/" and acme_admin.session[SESSION_TENANT_KEY] == globex.pk
    response = acme_admin.post("/tenant/switch/", {"tenant": acme.pk, "next": "https://evil.example/"})
    assert response.url == "/"


def test_a_recruiter_sees_no_admin_links_and_cannot_refit(acme, recruiter):
    page = recruiter.get("/").content
    assert b"Rules (admin)" not in page and b"/admin/" not in page
    assert recruiter.get("/admin/rules/exclusionrule/").status_code == 302  # to admin's own login
    response = recruiter.post("/calibration/refit/", follow=True)
    assert b"Only a team admin can refit" in response.content


def test_a_file_without_a_title_column_is_refused_on_the_field_and_queues_nothing(acme, acme_admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("c.csv", b"external_id,name\nC-1,Ann\n", content_type="text/csv")
    response = acme_admin.post("/import/", {"kind": "candidates", "file": bad})
    assert response.context["form"].errors["file"] == ["the CSV has no 'title' column (header: external_id, name)"]
    latin1 = SimpleUploadedFile("c.csv", "external_id,title\nC-1,Müller\n".encode("latin-1"))
    response = acme_admin.post("/import/", {"kind": "candidates", "file": latin1})
    assert "not UTF-8" in response.context["form"].errors["file"][0]
    with tenant_scope(acme.id):
        assert not Job.objects.exists()


def test_a_bad_filter_is_shown_and_the_list_is_not(acme, acme_admin):
    vacancy(acme, "Nurse", encode=False)
    response = acme_admin.get("/vacancies/?language=de:Q1")
    assert response.status_code == 200
    assert response.context["page"] is None
    assert b"unknown CEFR level" in response.content


def test_pages_need_a_login(client):
    for path in ["/", "/vacancies/", "/search/", "/map/", "/calibration/", "/import/"]:
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), path


def test_free_text_lifts_a_known_city_and_a_language_level(acme):
    candidate(acme, "Cook", city="Berlin", country="DE", encode=False)
    with tenant_scope(acme.id):
        parsed = parse_free_text(
            tenant=acme, kind=Kind.CANDIDATES, query="senior python developer in Berlin with German B2"
        )
        assert parsed.text == "senior python developer"
        assert parsed.filters == {"languages": {"de": "B2"}, "city": "Berlin"}
        unknown = parse_free_text(tenant=acme, kind=Kind.CANDIDATES, query="nurse in Lisbon, C1 english")
        assert unknown.filters == {"languages": {"en": "C1"}}
        assert unknown.text == "nurse in Lisbon"
    typed = parsed.filters_with(SearchFilters(city="Munich"))  # a filter field wins over the sentence
    assert (typed.city, typed.languages) == ("Munich", {"de": "B2"})


def test_an_admins_links_into_django_admin_open(acme, acme_admin):
    page = acme_admin.get("/").content.decode()
    for url in ("/admin/rules/exclusionrule/", "/admin/matching/encoderversion/"):
        assert f'href="{url}"' in page
        assert acme_admin.get(url).status_code == 200


def test_the_switcher_returns_to_a_list_never_to_a_row_or_a_job(acme, acme_admin):
    row = vacancy(acme, "Nurse", encode=False)
    with tenant_scope(acme.id):
        job = Job.objects.create(tenant=acme, kind=Job.Type.IMPORT)
    assert acme_admin.get(f"/vacancies/{row.pk}/").context["switch_next"] == "/vacancies/"
    assert acme_admin.get(f"/jobs/{job.pk}/").context["switch_next"] == "/"
    assert acme_admin.get("/map/").context["switch_next"] == "/map/"


def test_a_nul_character_in_the_list_search_box_is_shown_as_an_error_not_a_server_error(recruiter):
    response = recruiter.get("/vacancies/", {"q": "c\x00ok"})
    assert response.status_code == 200 and b"q contains a NUL character" in response.content


def test_a_vacancys_matches_show_a_grade_and_why_and_the_requirements_mode_can_be_chosen(acme, recruiter):
    job = vacancy(acme, "Nurse", languages={"pl": "C1"}, country="PL", city="Warsaw")
    candidate(acme, "Nurse", external_id="C-pl", languages={"pl": "C2"}, country="PL", city="Warsaw")
    candidate(acme, "Nurse", external_id="C-fr", languages={"fr": "C2"}, country="FR", city="Paris")
    page = recruiter.get(f"/vacancies/{job.pk}/matches/")
    assert [m["match"].record.external_id for m in page.context["hits"]] == ["C-pl"]
    assert b"grade-" in page.content and "✓ language pl".encode() in page.content
    ranked = recruiter.get(f"/vacancies/{job.pk}/matches/?requirements=rank")
    assert {m["match"].record.external_id for m in ranked.context["hits"]} == {"C-pl", "C-fr"}
    assert "✗ language pl: wants C1, has none".encode() in ranked.content
    bad = recruiter.get(f"/vacancies/{job.pk}/matches/?requirements=strict")
    assert bad.status_code == 200 and bad.context["result"] is None and "requirements" in bad.context["form"].errors
    assert b"Fix the filters marked above" in bad.content  # the error itself sits beside the selector (#18)


def test_the_record_form_keeps_a_vacancy_remote_through_an_edit(acme, acme_admin):
    acme_admin.post("/vacancies/new/", GOOD | {"remote": "on"})
    with tenant_scope(acme.id):
        saved = Vacancy.objects.get(tenant=acme, external_id="V-1")
    assert saved.remote
    acme_admin.post(f"/vacancies/{saved.pk}/edit/", GOOD | {"title": "Head nurse", "remote": "on"})
    with tenant_scope(acme.id):
        assert Vacancy.objects.get(pk=saved.pk).remote
