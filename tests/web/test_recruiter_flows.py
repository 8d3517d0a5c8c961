"""#18 in a real browser (Debian's Chromium): shortlist from a match and move it through the pipeline, export it,
clear a mark with focus kept, five form errors shown at once, a long search said and refused (never a 414), hits
as cards on a 371 px phone. Screenshots of the main pages at desktop and phone width go to test-artifacts/."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from matching.models import CandidateEmbedding, GlobalCalibration, Kind, Vacancy
from matching.services import active_encoder_version, ensure_base_encoder, upsert_records
from shortlists.models import ShortlistEntry
from shortlists.services import add_to_shortlist
from tenants.scoping import tenant_scope
from tenants.services import ensure_member, ensure_tenant
from tests.conftest import wait_until
from tests.web.conftest import log_in, shoot

PASSWORD = "pw-rita-12345"
PEOPLE = [
    ("C-1", "Senior Python developer", "Ten years of Django and Python web services", "Berlin"),
    ("C-2", "Python backend engineer", "Builds Python APIs with Django and PostgreSQL", "Berlin"),
    ("C-3", "Junior Python developer", "Python scripting and first Django projects", "Berlin"),
    ("C-4", "Registered nurse", "Hospital ward nurse for intensive care", "Berlin"),
]


@pytest.fixture
def team(transactional_db, celery_worker) -> dict:
    acme = ensure_tenant(slug="acme", name="Acme Recruiting", encoder=ensure_base_encoder())
    rita = User.objects.create_user("rita", password=PASSWORD, is_staff=True)
    ensure_member(tenant=acme, user=rita, role="admin")
    GlobalCalibration.objects.create(
        encoder_version=active_encoder_version(tenant=acme), n_labels=100, n_good=50, threshold=0.35, precision=0.8,
        recall=0.75, f1=0.77, false_accept_rate=0.08, curve=[], opis_groups=0.006,
    )  # fmt: skip
    with tenant_scope(acme.id):
        upsert_records(
            tenant=acme,
            kind=Kind.VACANCIES,
            rows=[{"external_id": "V-PY", "title": "Python developer", "description": "Django web services",
                   "country": "DE", "city": "Berlin"}],
        )  # fmt: skip
        upsert_records(
            tenant=acme,
            kind=Kind.CANDIDATES,
            rows=[
                {"external_id": e, "title": t, "description": d, "country": "DE", "city": c} for e, t, d, c in PEOPLE
            ],
        )
        wait_until(lambda: CandidateEmbedding.objects.filter(tenant=acme).count() == 4, timeout_s=120, what="encoded")
        vacancy = Vacancy.objects.get(tenant=acme, external_id="V-PY")
    return {"acme": acme, "vacancy": vacancy}


def _statuses(acme) -> dict[str, str]:
    with tenant_scope(acme.id):
        return dict(ShortlistEntry.objects.values_list("candidate__external_id", "status"))


def test_shortlist_from_the_matches_move_through_the_pipeline_and_export(team, live_server, page_factory):
    acme, vacancy, base = team["acme"], team["vacancy"], live_server.url
    page, console = page_factory()
    log_in(page, base, "rita", PASSWORD)
    page.goto(f"{base}/vacancies/{vacancy.pk}/")
    hits = page.locator("tr.hit")
    expect(hits).to_have_count(4)
    first = hits.first
    first_id = first.get_attribute("data-external-id")

    # A good mark shortlists; focus stays on the button; pressing it again (keyboard) clears the mark.
    good = first.get_by_role("button", name="good")
    good.click()
    expect(first.get_by_role("button", name="good")).to_have_attribute("aria-pressed", "true")
    expect(first.get_by_role("link", name="on the shortlist")).to_be_visible()
    assert page.evaluate("document.activeElement.classList.contains('good')")
    assert _statuses(acme) == {first_id: "shortlisted"}
    # The swapped-in form is bound once htmx has settled: a key pressed in the same few ms would submit it as a
    # plain form (which stores the mark too, but reloads the page, and focus with it).
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.keyboard.press("Enter")
    expect(first.get_by_role("button", name="good")).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("document.activeElement.classList.contains('good')")
    # A bad mark is feedback only.
    second = hits.nth(1)
    second.get_by_role("button", name="bad").click()
    expect(second.get_by_role("button", name="bad")).to_have_attribute("aria-pressed", "true")
    assert second.get_attribute("data-external-id") not in _statuses(acme)

    # Bulk: select two more and add them as "contacted".
    for row in (hits.nth(2), hits.nth(3)):
        row.get_by_role("checkbox").check()
    page.get_by_label("Add the selected to the shortlist as").select_option("contacted")
    page.get_by_role("button", name="Add to shortlist").click()
    expect(page.locator(".messages")).to_contain_text("2 candidates on the shortlist")
    shoot(page, "h18-vacancy-matches-desktop")
    assert sorted(_statuses(acme).values()) == ["contacted", "contacted", "shortlisted"]

    # The shortlist page: move one to interviewing with a note (htmx), then bulk-move to hired.
    page.get_by_role("link", name="Open the shortlist").click()
    page.wait_for_url(re.compile(r"/shortlist/$"))
    entry = page.locator(f'li.entry[data-external-id="{first_id}"]')
    entry.get_by_label("Status").select_option("interviewing")
    entry.get_by_label("Note").fill("Called on Monday; available from March")
    entry.get_by_role("button", name="Save").click()
    expect(page.locator(f'li.entry[data-external-id="{first_id}"]')).to_contain_text("Saved.")
    assert _statuses(acme)[first_id] == "interviewing"
    page.locator(f'li.entry[data-external-id="{first_id}"]').get_by_role("checkbox").check()
    page.get_by_label("Move the selected to").select_option("hired")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator('.pipeline a[data-status="hired"] .count')).to_have_text("1")
    shoot(page, "h18-shortlist-desktop")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"{first_id}," in text and "hired" in text and "Called on Monday" in text
    assert console.problems == []


def test_five_errors_at_once_and_a_country_by_name(team, live_server, page_factory):
    base = live_server.url
    page, console = page_factory()
    log_in(page, base, "rita", PASSWORD)
    page.goto(f"{base}/vacancies/new/")
    page.get_by_label("External id").fill("V-PY")  # taken
    page.get_by_label("Country").fill("Germanyy")
    page.get_by_label("Latitude").fill("abc")
    page.get_by_label("Longitude").fill("13.4")
    page.get_by_label("Languages").fill("german:B2")
    page.get_by_label("Custom fields").fill("seniority")
    page.get_by_role("button", name="Save").click()
    errors = page.locator(".field .errorlist li")
    expect(errors).to_have_count(6)  # the five of the issue, and the empty title
    for words in (
        "already exists",
        "title is required",
        "is not a country",
        "must be a number",
        "language",
        "name=value",
    ):
        expect(page.locator(".field .errorlist")).to_contain_text([re.compile(re.escape(words))])
    shoot(page, "h18-five-errors-desktop")
    # The filter bar takes a country by name and shows each bad filter beside its box.
    page.goto(f"{base}/vacancies/")
    page.get_by_label("Country").fill("Germany")
    expect(page.locator("#records")).to_contain_text("1 vacancies")
    page.get_by_label("Country").fill("Narnia")
    expect(page.locator("#id_country-errors")).to_contain_text("is not a country")
    assert console.problems == []


def test_a_long_search_is_said_where_typed_and_refused_not_cut(team, live_server, page_factory):
    base = live_server.url
    page, console = page_factory()
    log_in(page, base, "rita", PASSWORD)
    page.goto(f"{base}/search/")
    page.get_by_label("Search").fill("python developer " * 300)  # 5,100 characters
    expect(page.locator("#q-count")).to_contain_text("over the limit of 2,000")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".field .errorlist")).to_contain_text("it takes up to 2,000")
    assert page.get_by_label("Search").input_value().startswith("python developer")  # nothing was cut
    assert len(page.get_by_label("Search").input_value()) > 5000
    assert console.problems == []


def test_at_phone_width_hits_are_cards_that_fit_and_keep_their_name(team, live_server, page_factory):
    vacancy, base = team["vacancy"], live_server.url
    page, console = page_factory(width=371, height=800)
    log_in(page, base, "rita", PASSWORD)
    page.goto(f"{base}/vacancies/{vacancy.pk}/")
    expect(page.locator("tr.hit")).to_have_count(4)
    first = page.locator("tr.hit").first
    first.get_by_role("button", name="good").click()
    expect(first.get_by_role("button", name="good")).to_have_attribute("aria-pressed", "true")
    expect(first.locator("td.who a").first).to_be_visible()
    expect(first.locator(".badge")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert page.evaluate("[...document.querySelectorAll('table.hits th')].every(th => th.offsetParent === null)")
    assert _contrast(page, ".badge.match") >= 4.5  # WCAG AA for its small text
    assert console.problems == []


CONTRAST_JS = """(selector) => {
  const el = document.querySelector(selector);
  const rgb = (c) => c.match(/\\d+/g).slice(0, 3).map(Number);
  const linear = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => c.map(linear).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def _contrast(page: object, selector: str) -> float:
    return page.evaluate(CONTRAST_JS, selector)


@pytest.mark.parametrize(("width", "name"), [(1280, "desktop"), (371, "phone")])
def test_screenshots_of_the_main_pages(team, live_server, page_factory, width, name):
    vacancy, base = team["vacancy"], live_server.url
    page, console = page_factory(width=width, height=900)
    log_in(page, base, "rita", PASSWORD)
    with tenant_scope(team["acme"].id):
        add_to_shortlist(tenant=team["acme"], vacancy=vacancy, candidate_ids=list(
            CandidateEmbedding.objects.values_list("record_id", flat=True)[:2]))  # fmt: skip
    for page_name, path in [
        ("dashboard", "/"),
        ("vacancies", "/vacancies/"),
        ("candidates", "/candidates/"),
        ("vacancy", f"/vacancies/{vacancy.pk}/"),
        ("shortlist", f"/vacancies/{vacancy.pk}/shortlist/"),
        ("new-vacancy", "/vacancies/new/"),
        ("search", "/search/?q=python+developer&kind=candidates"),
        ("import", "/import/"),
        ("calibration", "/calibration/"),
        ("not-found", "/vacancies/999999/"),
    ]:
        page.goto(f"{base}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than the window"
        shoot(page, f"h18-{page_name}-{name}")
    assert [p for p in console.problems if "999999" not in p] == []


def _tab_to(page: object, js_test: str, *, key: str = "Tab", limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {js_test}; }})()"):
            return
    raise AssertionError(f"never reached {js_test} with {key}")


def test_the_main_flow_by_keyboard_alone(team, live_server, page_factory):
    acme, vacancy, base = team["acme"], team["vacancy"], live_server.url
    page, console = page_factory()
    log_in(page, base, "rita", PASSWORD)
    page.goto(f"{base}/vacancies/{vacancy.pk}/")
    expect(page.locator("tr.hit")).to_have_count(4)
    _tab_to(page, "el.name === 'candidate_ids'")  # the first hit's checkbox
    page.keyboard.press("Space")
    _tab_to(page, "el.classList.contains('good')")
    page.keyboard.press("Enter")
    expect(page.locator("tr.hit").first.get_by_role("button", name="good")).to_have_attribute("aria-pressed", "true")
    _tab_to(page, "el.textContent.trim() === 'Add to shortlist'", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("1 candidate on the shortlist")
    assert len(_statuses(acme)) == 1  # the good mark and the checkbox named the same, first, candidate
    assert console.problems == []
