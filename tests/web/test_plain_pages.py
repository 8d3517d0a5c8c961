"""Pages a recruiter meets on a bad day (#18): styled error pages in the app's layout, a long search refused with its
limit named, an import job that counts every row it read, and a mark that can be cleared."""

import pytest
from django.template.loader import render_to_string
from django.test import Client

from matching.models import Feedback, Job, Kind
from matching.services.imports import run_import_job, start_import
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

CSV_7 = b"""external_id,title,languages
C-1,Nurse,
C-2,Cook,
C-3,Welder,
C-4,,
C-5,,
C-6,Baker,de:Z9
C-7,Baker,de:Z8
"""


def test_a_missing_page_is_a_404_in_the_apps_layout_with_its_navigation(acme_admin):
    response = acme_admin.get("/vacancies/987654/")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'data-status="404"' in page
    assert 'aria-label="Main"' in page and "Go to the dashboard" in page


@pytest.mark.parametrize("code", [400, 403, 404, 414, 431, 500])
def test_every_error_page_has_words_and_a_way_back(code):
    page = render_to_string(f"{code}.html")  # 500 renders without a request, as Django does; 414/431 as gunicorn does
    assert f'data-status="{code}"' in page
    assert 'href="/"' in page and "app.css" in page


def test_a_free_text_search_longer_than_its_limit_is_refused_with_the_limit_named(acme, acme_admin):
    response = acme_admin.post("/search/", {"q": "nurse" + "x" * 4995, "kind": "vacancies"})
    errors = response.context["form"].errors["q"][0]
    assert response.status_code == 200
    assert "5,000 characters" in errors and "2,000" in errors
    assert response.context["result"] is None


def test_the_search_box_says_its_limit_and_posts(acme_admin):
    page = acme_admin.get("/search/").content.decode()
    assert 'method="post"' in page and "up to 2,000 characters" in page
    assert "maxlength" not in page


def test_an_import_job_counts_every_row_it_read_refused_ones_too(acme, celery_worker):
    with tenant_scope(acme.id):
        job = start_import(tenant=acme, kind=Kind.CANDIDATES, raw=CSV_7, filename="seven.csv")
        job = run_import_job(tenant=acme, job=Job.objects.get(pk=job.pk))
    assert (job.done, job.total) == (7, 7)
    assert (job.params["created"], job.params["n_errors"]) == (3, 4)


def test_pressing_a_pressed_mark_clears_it(acme, acme_admin):
    v, c = vacancy(acme, "Nurse", encode=False), candidate(acme, "Nurse", encode=False)
    pair = {"vacancy_id": v.pk, "candidate_id": c.pk, "query": "vacancy"}
    marked = acme_admin.post("/feedback/", pair | {"label": "good"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'value="clear" class="good" aria-pressed="true"' in marked
    cleared = acme_admin.post("/feedback/", pair | {"label": "clear"}, HTTP_HX_REQUEST="true")
    assert cleared.status_code == 200
    assert 'aria-pressed="true"' not in cleared.content.decode()
    with tenant_scope(acme.id):
        assert not Feedback.objects.filter(tenant=acme).exists()


def test_a_plain_form_post_of_a_mark_stores_it_and_goes_back_to_the_page(acme, acme_admin):
    """Without htmx (no script, or a press before htmx bound a freshly swapped form) the buttons still work."""
    v, c = vacancy(acme, "Nurse", encode=False), candidate(acme, "Nurse", encode=False)
    pair = {"vacancy_id": v.pk, "candidate_id": c.pk, "query": "vacancy"}
    page = f"http://testserver/vacancies/{v.pk}/?sort=grade"
    response = acme_admin.post("/feedback/", pair | {"label": "good"}, HTTP_REFERER=page)
    assert response.status_code == 302 and response["Location"] == page
    with tenant_scope(acme.id):
        assert Feedback.objects.get(tenant=acme).label == Feedback.Label.GOOD
    elsewhere = acme_admin.post("/feedback/", pair | {"label": "clear"}, HTTP_REFERER="https://evil.example/")
    assert elsewhere.status_code == 302 and elsewhere["Location"] == f"/vacancies/{v.pk}/"  # never off-site
    with tenant_scope(acme.id):
        assert not Feedback.objects.filter(tenant=acme).exists()


def test_a_mark_with_an_unknown_label_is_a_400_naming_it(acme, acme_admin):
    v, c = vacancy(acme, "Nurse", encode=False), candidate(acme, "Nurse", encode=False)
    response = acme_admin.post("/feedback/", {"vacancy_id": v.pk, "candidate_id": c.pk, "label": "meh"})
    assert response.status_code == 400 and "label must be" in response.content.decode()


def test_free_text_results_for_a_chosen_vacancy_get_feedback_buttons_and_a_shortlist_form(acme, acme_admin):
    job = vacancy(acme, "Python developer", external_id="V-PY", encode=False)
    candidate(acme, "Python developer", external_id="C-PY")
    page = acme_admin.post("/search/", {"q": "python developer", "kind": "candidates", "for_vacancy": job.pk})
    html = page.content.decode()
    assert 'class="feedback"' in html and 'name="candidate_ids"' in html
    assert f'action="/vacancies/{job.pk}/shortlist/bulk/"' in html
    plain = acme_admin.post("/search/", {"q": "python developer", "kind": "candidates"}).content.decode()
    assert 'class="feedback"' not in plain


def test_a_vacancy_of_another_team_cannot_be_chosen_for_a_search(acme, globex, acme_admin):
    theirs = vacancy(globex, "Secret", encode=False)
    page = acme_admin.post("/search/", {"q": "python", "kind": "candidates", "for_vacancy": theirs.pk})
    assert "for_vacancy" in page.context["form"].errors
    assert "Secret" not in page.content.decode()


def test_an_expired_form_is_a_styled_403_with_a_way_back(acme_admin):
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = acme_admin.cookies
    response = strict.post("/vacancies/new/", {"title": "x"})
    assert response.status_code == 403 and 'data-reason="csrf"' in response.content.decode()


CSV_THREE_WRONG = b"""external_id,title,country,latitude,longitude,languages
C-1,Nurse,DE,52.5,13.4,de:C1
C-2,,Germanyy,52.5,13.4,german:B2
"""


def test_an_import_reports_every_error_of_a_row_at_once(acme, acme_admin, celery_worker):
    with tenant_scope(acme.id):
        job = start_import(tenant=acme, kind=Kind.CANDIDATES, raw=CSV_THREE_WRONG, filename="three.csv")
        job = run_import_job(tenant=acme, job=Job.objects.get(pk=job.pk))
    fields = [(e["line"], e["field"]) for e in job.params["errors"]]
    assert sorted(fields) == [(3, "country"), (3, "languages"), (3, "title")]
    assert (job.params["created"], job.params["refused"], job.params["n_errors"]) == (1, 1, 3)
    assert job.message == "1 created, 0 updated, 1 row refused (3 problems)"
    page = acme_admin.get(f"/jobs/{job.pk}/").content.decode()
    assert "1 refused" in page and page.count("<td>3</td>") == 3
