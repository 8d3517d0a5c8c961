"""The recruiter's dashboard and the calibration page in plain words (#18): what is new this week, shortlists by
status, recent imports; the encoder and encoded rows only in the admins' panel; the line explained "of 10";
the vacancies with no strong match."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from matching.models import GlobalCalibration
from rules.services import Actor, create_rule
from shortlists.services import add_to_shortlist
from tenants.scoping import tenant_scope
from tenants.services import ensure_member
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


@pytest.fixture
def recruiter(acme):
    user = User.objects.create_user("rob", password="pw-rob-12345")
    ensure_member(tenant=acme, user=user, role="recruiter")
    client = Client()  # its own: acme_admin logs in on pytest-django's `client`
    client.force_login(user)
    return client


@pytest.fixture
def calibrated(acme):
    return GlobalCalibration.objects.create(
        encoder_version=acme.active_encoder, n_labels=100, n_good=50, threshold=0.3602210283279419, precision=0.8,
        recall=0.754, f1=0.77, false_accept_rate=0.08, curve=[], opis_groups=0.006,
    )  # fmt: skip


def test_the_dashboard_shows_this_weeks_rows_and_shortlists_by_status(acme, recruiter):
    job = vacancy(acme, "Welder", encode=False)
    people = [candidate(acme, "Welder", external_id=f"C-{i}", encode=False) for i in range(3)]
    with tenant_scope(acme.id):
        add_to_shortlist(tenant=acme, vacancy=job, candidate_ids=[p.pk for p in people[:2]])
    page = recruiter.get("/").content.decode()
    assert '<span class="stat">1</span> new' in page and '<span class="stat">3</span> new' in page
    assert '<li data-status="shortlisted"><span class="count">2</span> shortlisted</li>' in page


def test_a_recruiter_sees_no_engineering_figures_and_an_admin_does(acme, recruiter, acme_admin, calibrated):
    recruiters = recruiter.get("/").content.decode()
    assert "operator-panel" not in recruiters and "encoded-rows" not in recruiters
    assert acme.active_encoder.name not in recruiters
    admins = acme_admin.get("/").content.decode()
    assert "operator-panel" in admins and acme.active_encoder.name in admins


def test_calibration_says_what_the_line_does_out_of_ten_and_how_many_marks_are_missing(acme, recruiter, calibrated):
    page = recruiter.get("/calibration/").content.decode()
    assert "keeps about <strong>8 of 10</strong> good matches and lets through <strong>1 of 10</strong>" in page
    assert "needs 50 more “good” and 50 more “bad” marks" in page
    assert "OPIS" not in page and "F1" not in page  # for admins


def test_a_refit_with_too_few_marks_says_it_changes_nothing(acme, acme_admin, calibrated):
    page = acme_admin.post("/calibration/refit/", follow=True).content.decode()
    assert "will change nothing yet" in page and "at least 50 of each" in page


def _no_strong_match_section(page: str) -> str:
    start = page.index('id="no-strong-match"')
    return page[start : page.index("</section>", start)]


def _panel(client: Client) -> str:
    return _no_strong_match_section(client.get("/no-strong-match/", HTTP_HX_REQUEST="true").content.decode())


def test_the_dashboard_lists_the_vacancies_with_no_strong_match_each_linking_to_its_matches(
    acme, recruiter, calibrated
):
    python = vacancy(acme, "Python developer", external_id="V-PY")
    welder = vacancy(acme, "Underwater welder", external_id="V-WELD")
    candidate(acme, "Python developer")
    first = _no_strong_match_section(recruiter.get("/").content.decode())
    assert 'hx-get="/no-strong-match/" hx-trigger="load"' in first  # not judged yet: the page does not wait on it
    section = _panel(recruiter)
    assert f'href="/vacancies/{welder.pk}/"' in section and "Underwater welder" in section
    assert f'href="/vacancies/{python.pk}/"' not in section
    assert "Underwater welder" in _no_strong_match_section(recruiter.get("/").content.decode())  # now cached


def test_no_strong_match_is_not_searched_again_on_the_next_load_until_the_candidates_change(
    acme, recruiter, calibrated
):
    welder = vacancy(acme, "Underwater welder", external_id="V-WELD")
    candidate(acme, "Python developer")
    assert "Underwater welder" in _panel(recruiter)
    with CaptureQueriesContext(connection) as queries:
        again = recruiter.get("/").content.decode()
    assert "Underwater welder" in _no_strong_match_section(again)
    assert not [q["sql"] for q in queries if "<=>" in q["sql"]]  # no nearest-neighbour query: it was cached
    candidate(acme, "Underwater welder")  # a new candidate invalidates it: now the welder has a match
    assert "hx-get" in _no_strong_match_section(recruiter.get("/").content.decode())
    assert f'href="/vacancies/{welder.pk}/"' not in _panel(recruiter)


def test_an_exclusion_rule_that_hides_a_vacancys_matches_is_seen_on_the_next_load(acme, recruiter, calibrated):
    welder = vacancy(acme, "Underwater welder", external_id="V-WELD")
    candidate(acme, "Underwater welder")
    assert f'href="/vacancies/{welder.pk}/"' not in _panel(recruiter)  # it has a match, and that answer is cached
    # The vacancy's title is anchor A itself (a record fires a rule only when nearer A than B: search.py).
    data = {"name": "no welders", "trigger_text": "Underwater welder", "trigger_radius": 0.8, "exclude_text": "welder",
            "exclude_radius": 0.5}  # fmt: skip
    with tenant_scope(acme.id):
        create_rule(tenant=acme, data=data, actor=Actor(name="t"))
    assert "hx-get" in _no_strong_match_section(recruiter.get("/").content.decode())  # not served from the cache
    assert f'href="/vacancies/{welder.pk}/"' in _panel(recruiter)
