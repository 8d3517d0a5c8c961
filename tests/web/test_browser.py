"""The recruiter's day in a real browser: log in, import, watch the progress bar, match, filter, give feedback,
see a rule's effect, switch team and see nothing of the other team's data. Screenshots go to test-artifacts/."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from matching.models import Candidate, CandidateEmbedding, Feedback, GlobalCalibration, Kind, Vacancy
from matching.services import active_encoder_version, ensure_base_encoder, upsert_records
from rules.services import Actor, create_rule
from tenants.scoping import tenant_scope
from tenants.services import ensure_member, ensure_tenant
from tests.conftest import wait_until
from tests.web.conftest import log_in, shoot

PASSWORD = "pw-rita-12345"
CANDIDATES_CSV = """external_id,title,description,country,city,languages,seniority
C-1,Senior Python developer,Ten years of Django and Python web services,DE,Berlin,de:C1;en:C1,senior
C-2,Python backend engineer,Builds Python APIs with Django and PostgreSQL,DE,Munich,de:B2,mid
C-3,Junior Python developer,Python scripting and first Django projects,DE,Berlin,de:B1,junior
C-4,Registered nurse,Hospital ward nurse for intensive care,DE,Berlin,de:C2,senior
C-5,Java developer,Spring Boot services for banks,DE,Munich,de:B2,mid
C-6,,a row without a title,DE,Berlin,,
C-7,Data engineer,Spark pipelines,DE,Hamburg,de:Z9,mid
"""


@pytest.fixture
def teams(transactional_db, celery_worker) -> dict:
    """Rita is an admin in Acme and a recruiter in Globex; each team has vacancies the other must never see."""
    acme = ensure_tenant(slug="acme", name="Acme Recruiting", encoder=ensure_base_encoder())
    globex = ensure_tenant(slug="globex", name="Globex Talent", encoder=ensure_base_encoder())
    rita = User.objects.create_user("rita", password=PASSWORD, is_staff=True)
    ensure_member(tenant=acme, user=rita, role="admin")
    ensure_member(tenant=globex, user=rita, role="recruiter")
    version = active_encoder_version(tenant=acme)
    # The global threshold (fitted on validation data in production, minutes of work) is given here.
    curve = [
        {"threshold": t / 10, "precision": min(1.0, 0.4 + t / 12), "recall": 1 - t / 10, "f1": 0.5, "far": 0.1}
        for t in range(11)
    ]
    GlobalCalibration.objects.create(
        encoder_version=version, n_labels=100, n_good=50, threshold=0.35, precision=0.8, recall=0.75, f1=0.77,
        false_accept_rate=0.08, curve=curve, opis_groups=0.006,
    )  # fmt: skip
    with tenant_scope(acme.id):
        upsert_records(
            tenant=acme,
            kind=Kind.VACANCIES,
            rows=[
                {
                    "external_id": "V-PY",
                    "title": "Python developer",
                    "description": "Build Django web services in Python",
                    "country": "DE",
                    "city": "Berlin",
                    "languages": {"de": "B2"},
                },
                {"external_id": "V-RN", "title": "Nurse", "description": "Ward nurse", "country": "DE"},
            ],
        )
    with tenant_scope(globex.id):
        upsert_records(
            tenant=globex,
            kind=Kind.VACANCIES,
            rows=[{"external_id": "G-SECRET", "title": "Globex secret vacancy", "country": "FR", "city": "Paris"}],
        )
    return {"acme": acme, "globex": globex, "rita": rita}


def _hit_ids(page: object) -> list[str]:
    return page.locator("tr.hit").evaluate_all("rows => rows.map(r => r.dataset.externalId)")


def test_a_recruiters_day_in_the_browser(teams, live_server, page_factory):
    acme, base = teams["acme"], live_server.url
    page, console = page_factory()

    page.goto(f"{base}/accounts/login/")
    shoot(page, "01-login")
    log_in(page, base, "rita", PASSWORD)
    expect(page.locator("header")).to_contain_text("Acme Recruiting")
    shoot(page, "02-dashboard")

    # Import a CSV: the job page's progress bar fills, then the report names each refused row by line.
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("Kind").select_option("candidates")
    page.get_by_label("File").set_input_files(
        files=[{"name": "candidates.csv", "mimeType": "text/csv", "buffer": CANDIDATES_CSV.encode()}]
    )
    shoot(page, "03-import")
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done", timeout=120_000)
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("7")  # line 7: C-6 has no title
    expect(errors.nth(0)).to_contain_text("title")
    expect(errors.nth(1)).to_contain_text("8")  # line 8: C-7's level Z9
    expect(errors.nth(1)).to_contain_text("languages")
    expect(page.locator("#job")).to_contain_text("5 created")
    shoot(page, "04-import-done")
    with tenant_scope(acme.id):
        assert Candidate.objects.filter(tenant=acme).count() == 5
        wait_until(lambda: CandidateEmbedding.objects.filter(tenant=acme).count() == 5, timeout_s=120, what="5 encoded")

    # The vacancy's page: Python people first, with bars, the threshold's badge and feedback buttons.
    with tenant_scope(acme.id):
        vacancy = Vacancy.objects.get(tenant=acme, external_id="V-PY")
        junior = Candidate.objects.get(tenant=acme, external_id="C-3")
    page.goto(f"{base}/vacancies/")
    page.get_by_role("link", name="Python developer").click()
    # The vacancy's own requirements apply by default (#17): German B2, in Berlin or within 50 km.
    expect(page.locator("tr.hit")).to_have_count(2)
    assert set(_hit_ids(page)) == {"C-1", "C-4"}
    page.get_by_label("Vacancy requirements").select_option("ignore")
    expect(page.locator("tr.hit")).to_have_count(5)
    assert set(_hit_ids(page)[:3]) == {"C-1", "C-2", "C-3"}
    expect(page.locator("tr.hit .badge.match").first).to_be_visible()
    shoot(page, "05-vacancy-matches")

    # A filter applies live (htmx), without a reload.
    page.get_by_label("City").fill("Munich")
    expect(page.locator("tr.hit")).to_have_count(2)
    assert set(_hit_ids(page)) == {"C-2", "C-5"}
    page.get_by_label("City").fill("")
    expect(page.locator("tr.hit")).to_have_count(5)

    # Feedback: the mark is stored for the pair and the button shows it.
    first = page.locator("tr.hit").first
    first_id = first.get_attribute("data-external-id")
    first.get_by_role("button", name="good").click()
    expect(first.get_by_role("button", name="good")).to_have_attribute("aria-pressed", "true")
    with tenant_scope(acme.id):
        mark = Feedback.objects.get(tenant=acme, vacancy=vacancy, candidate__external_id=first_id)
        assert (mark.label, mark.source, mark.user_id) == ("good", "ui", teams["rita"].id)

    # A rule that fires on this vacancy and removes the junior: the page says so, and the junior is gone.
    with tenant_scope(acme.id):
        create_rule(
            tenant=acme,
            data={
                "name": "No juniors for this role",
                "trigger_text": vacancy.text_for_encoding,
                "trigger_radius": 0.95,
                "exclude_text": junior.text_for_encoding,
                "exclude_radius": 0.95,
            },
            actor=Actor(name="test"),
        )
    page.goto(f"{page.url.split('?')[0]}?requirements=ignore")  # the junior misses the German B2 requirement
    expect(page.locator("#rules-fired")).to_contain_text("No juniors for this role removed 1")
    expect(page.locator("tr.hit")).to_have_count(4)
    assert "C-3" not in _hit_ids(page)
    shoot(page, "06-vacancy-rule-fired")

    # Free text: the sentence's city and language level become filters.
    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Search").fill("python developer in Munich with German B2")
    page.get_by_label("Find").select_option("candidates")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#parsed")).to_contain_text("city Munich")
    expect(page.locator("#parsed")).to_contain_text("German ≥ B2")
    assert set(_hit_ids(page)) == {"C-2", "C-5"}
    assert _hit_ids(page)[0] == "C-2"
    shoot(page, "07-free-text-search")

    # The talent map (its occupation vectors are prepared by the worker on first use) with hover labels.
    page.get_by_role("link", name="Talent map").click()
    expect(page.locator("svg.map a")).to_have_count(5, timeout=180_000)
    page.locator("svg.map a").first.hover()
    expect(page.locator("#map-tip")).to_be_visible()
    expect(page.locator("#map-tip")).to_contain_text("nearest occupation")
    # Keyboard by group (#18): one tab stop per legend group, arrow keys walk the dots of that group.
    groups = page.locator(".legend button").count()
    assert page.locator('svg.map a[tabindex="0"]').count() == groups
    first_dot = page.locator('svg.map a[tabindex="0"]').first
    first_dot.focus()
    group = first_dot.get_attribute("data-group")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.group") == group
    page.get_by_label("Highlight a title").fill("python")
    expect(page.locator("#map-found")).to_contain_text("3 of 5 dots match")
    expect(page.locator("svg.map a.found")).to_have_count(3)
    shoot(page, "08-talent-map")

    page.get_by_role("link", name="Calibration").click()
    expect(page.locator("#threshold-value")).to_have_text("0.350")
    expect(page.locator("#n-good")).to_have_text("1")
    expect(page.locator("#utility-curve")).to_be_attached()
    shoot(page, "09-calibration")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#progress")).to_contain_text("Import #")
    shoot(page, "10-dashboard-after")

    # Switch to Globex: its own vacancy shows, none of Acme's, and Acme's page is a 404.
    page.goto(f"{base}/vacancies/")
    page.get_by_label("Team").select_option(label="Globex Talent")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(f"{base}/vacancies/")
    expect(page.locator("#records")).to_contain_text("Globex secret vacancy")
    expect(page.locator("#records")).not_to_contain_text("Python developer")
    assert page.goto(f"{base}/vacancies/{vacancy.pk}/").status == 404
    assert page.goto(f"{base}/vacancies/{vacancy.pk}/matches/").status == 404
    page.goto(f"{base}/candidates/")
    expect(page.locator("#records")).to_contain_text("0 candidates")
    # A recruiter in Globex sees no admin links.
    expect(page.get_by_role("link", name="Rules (admin)")).to_have_count(0)
    shoot(page, "11-switched-tenant")

    assert [p for p in console.problems if f"/vacancies/{vacancy.pk}/" not in p] == []


def test_pages_fit_a_phone_and_are_keyboard_reachable(teams, live_server, page_factory):
    base = live_server.url
    page, console = page_factory(width=390, height=844)
    log_in(page, base, "rita", PASSWORD)
    with tenant_scope(teams["acme"].id):
        vacancy = Vacancy.objects.get(tenant=teams["acme"], external_id="V-PY")
    for name, path in [
        ("dashboard", "/"),
        ("vacancies", "/vacancies/"),
        ("vacancy", f"/vacancies/{vacancy.pk}/"),
        ("search", "/search/?q=nurse&kind=vacancies"),
        ("calibration", "/calibration/"),
        ("import", "/import/"),
    ]:
        page.goto(f"{base}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than a phone"
        shoot(page, f"phone-{name}")
    # Keyboard: the skip link comes first and moves focus to the content; Tab reaches the nav.
    page.goto(f"{base}/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('nav') !== null")
    assert console.problems == []
