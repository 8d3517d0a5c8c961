"""The last gaps of #18 in a real browser (Debian's Chromium): the dashboard's vacancies with no strong match, a
talent-map region listed (dragged with the mouse, or a group picked by keyboard), the team's own pipeline names, and
the styled 414 page. Screenshots of each changed page at desktop and phone width go to test-artifacts/."""

import re

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import expect

from matching.models import CandidateEmbedding, Job, Kind, VacancyEmbedding
from matching.services import upsert_records
from matching.services.imports import start_import
from shortlists.services import add_to_shortlist
from tenants.scoping import tenant_scope
from tests.conftest import wait_until
from tests.web.conftest import log_in, shoot
from tests.web.test_recruiter_flows import PASSWORD, team  # noqa: F401 - team is the fixture

WIDTHS = [(1280, "desktop"), (371, "phone")]
# Stored top occupations colour the map without ESCO's vectors (encoded once per version: a CPU-minute).
NURSE = [{"uri": "esco:nurse", "label": "nursing associate", "isco_group": "3221", "score": 0.9}]
DEVELOPER = [{"uri": "esco:developer", "label": "software developer", "isco_group": "2512", "score": 0.9}]


@pytest.fixture
def gaps(request: pytest.FixtureRequest) -> dict:
    made = request.getfixturevalue("team")  # test_recruiter_flows' fixture: the team, its vacancy, 4 candidates
    acme = made["acme"]
    with tenant_scope(acme.id):
        for row in CandidateEmbedding.objects.filter(tenant=acme).select_related("record"):
            row.occupations = NURSE if row.record.external_id == "C-4" else DEVELOPER  # two groups on the map
            row.save(update_fields=["occupations"])
        upsert_records(
            tenant=acme, kind=Kind.VACANCIES,
            rows=[{"external_id": "V-WELD", "title": "Underwater welder", "description": "Offshore hull repairs"}],
        )  # fmt: skip
        wait_until(lambda: VacancyEmbedding.objects.filter(tenant=acme).count() == 2, timeout_s=120, what="encoded")
    return made


# WCAG contrast of an element's text against the background it is drawn on: the nearest ancestor's that is not
# transparent (a link's own background is, and reads as black).
CONTRAST_JS = """(selector) => {
  const el = document.querySelector(selector);
  const rgba = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const linear = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => c.slice(0, 3).map(linear).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = el, bg = [255, 255, 255];
  while (back) {
    const c = rgba(getComputedStyle(back).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) { bg = c; break; }
    back = back.parentElement;
  }
  const [a, b] = [lum(rgba(getComputedStyle(el).color)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def _contrast(page: object, selector: str) -> float:
    return page.evaluate(CONTRAST_JS, selector)


def _overflow(page: object) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize(("width", "name"), WIDTHS)
def test_the_dashboard_lists_the_vacancies_with_no_strong_match(gaps, live_server, page_factory, width, name):
    base = live_server.url
    page, console = page_factory(width=width, height=900)
    log_in(page, base, "rita", PASSWORD)
    panel = page.locator("#no-strong-match")
    expect(panel.get_by_role("link", name="Underwater welder")).to_be_visible(timeout=60_000)  # htmx fills it in
    expect(panel.get_by_role("link", name="Python developer")).to_have_count(0)
    assert _overflow(page) <= 1
    assert _contrast(page, "#no-strong-match a") >= 4.5 and _contrast(page, "#no-strong-match .muted") >= 4.5
    shoot(page, f"h18-dashboard-no-strong-match-{name}")
    panel.get_by_role("link", name="Underwater welder").click()
    page.wait_for_url(re.compile(r"/vacancies/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Underwater welder")
    assert console.problems == []


def _dot_centre(page: object, external_id: str) -> tuple[float, float]:
    box = page.locator(f'svg.map a[data-external-id="{external_id}"] circle').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_a_dragged_region_of_the_talent_map_lists_its_rows_with_links(gaps, live_server, page_factory):
    base = live_server.url
    page, console = page_factory(height=1500)  # the whole map in view: the mouse acts inside the viewport
    log_in(page, base, "rita", PASSWORD)
    page.goto(f"{base}/map/")
    expect(page.locator("svg.map a")).to_have_count(4)
    rows = page.locator("#map-rows")
    expect(rows).to_be_hidden()

    # A rectangle over the whole map lists every row; one that ends on a dot does not open it.
    svg = page.locator("svg.map").bounding_box()
    page.mouse.move(svg["x"] + 2, svg["y"] + 2)
    page.mouse.down()
    page.mouse.move(svg["x"] + svg["width"] / 2, svg["y"] + svg["height"] / 2, steps=5)
    page.mouse.move(svg["x"] + svg["width"] - 2, svg["y"] + svg["height"] - 2, steps=5)
    page.mouse.up()
    expect(rows.locator("h2")).to_have_text("4 rows in the selected region")
    expect(rows.locator("li a")).to_have_count(4)
    assert page.url == f"{base}/map/"

    # A small one around the nurse's dot lists the nurse, linking to her page; the drag ends on the dot itself.
    x, y = _dot_centre(page, "C-4")
    inward_x = 14 if x < svg["x"] + svg["width"] / 2 else -14  # PCA puts dots on the edges: start inside the map
    inward_y = 14 if y < svg["y"] + svg["height"] / 2 else -14
    page.mouse.move(x + inward_x, y + inward_y)
    page.mouse.down()
    page.mouse.move(x - inward_x / 14, y - inward_y / 14, steps=5)
    page.mouse.up()
    expect(rows.locator("h2")).to_have_text("1 row in the selected region")
    expect(rows.locator("li a", has_text="Registered nurse")).to_have_count(1)
    assert page.url == f"{base}/map/"  # the click that ends a drag does not open the dot
    shoot(page, "h18-talent-map-region-desktop")
    rows.locator("li a", has_text="Registered nurse").click()
    page.wait_for_url(re.compile(r"/candidates/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Registered nurse")
    assert console.problems == []


@pytest.mark.parametrize(("width", "name"), WIDTHS)
def test_a_group_of_the_talent_map_is_listed_by_keyboard(gaps, live_server, page_factory, width, name):
    base = live_server.url
    page, console = page_factory(width=width, height=900)
    log_in(page, base, "rita", PASSWORD)
    page.goto(f"{base}/map/")
    expect(page.locator("svg.map a")).to_have_count(4)
    page.get_by_label("Group", exact=True).focus()
    page.get_by_label("Group", exact=True).select_option("2")  # the developers' group, by keyboard focus and choice
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "map-list"
    page.keyboard.press("Enter")
    rows = page.locator("#map-rows")
    expect(rows.locator("h2")).to_have_text("3 rows shown")
    assert page.evaluate("document.activeElement.id") == "map-rows-h"  # the list is where focus lands
    expect(rows.locator("li a", has_text="Registered nurse")).to_have_count(0)
    assert _overflow(page) <= 1
    assert _contrast(page, "#map-rows a") >= 4.5
    shoot(page, f"h18-talent-map-list-{name}")
    page.get_by_role("button", name="Clear the selection").click()
    expect(rows).to_be_hidden()
    assert console.problems == []


@pytest.mark.parametrize(("width", "name"), WIDTHS)
def test_a_tenant_admin_renames_a_step_and_the_shortlist_shows_it(gaps, live_server, page_factory, width, name):
    acme, vacancy, base = gaps["acme"], gaps["vacancy"], live_server.url
    with tenant_scope(acme.id):
        people = list(CandidateEmbedding.objects.values_list("record_id", flat=True)[:2])
        add_to_shortlist(tenant=acme, vacancy=vacancy, candidate_ids=people, status="interviewing")
    page, console = page_factory(width=width, height=900)
    log_in(page, base, "rita", PASSWORD)
    page.get_by_role("link", name="Rename the pipeline's steps").click()
    page.wait_for_url(f"{base}/settings/pipeline/")
    page.get_by_label("Step “interviewing”").fill("Interview booked")
    page.get_by_label("Step “hired”").fill("Interview booked")  # two alike: refused beside the field
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field [role=alert]")).to_contain_text("already the name of the step “interviewing”")
    assert _overflow(page) <= 1
    shoot(page, f"h18-pipeline-names-error-{name}")
    page.get_by_label("Step “hired”").fill("Offer accepted")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved")
    page.goto(f"{base}/vacancies/{vacancy.pk}/shortlist/")
    expect(page.locator('.pipeline a[data-status="interviewing"]')).to_contain_text("Interview booked")
    expect(page.locator('.pipeline a[data-status="hired"]')).to_contain_text("Offer accepted")
    assert _overflow(page) <= 1
    shoot(page, f"h18-shortlist-own-names-{name}")
    assert console.problems == []


@pytest.mark.parametrize(("width", "name"), WIDTHS)
def test_the_414_page_a_browser_gets_is_styled_with_a_way_on(gaps, live_server, page_factory, width, name):
    """gunicorn's worker answers it (tests/api/test_http_limits.py); here its page, as a browser shows it."""
    base = live_server.url
    page, console = page_factory(width=width, height=900)
    body = render_to_string("414.html")
    page.route(f"{base}/too-long", lambda route: route.fulfill(status=414, content_type="text/html", body=body))
    page.goto(f"{base}/too-long")
    expect(page.locator("h1")).to_have_text("This link is too long")
    expect(page.get_by_role("link", name="Open the search form")).to_have_attribute("href", "/search/")
    assert _overflow(page) <= 1
    assert _contrast(page, ".error-page p") >= 4.5 and _contrast(page, ".error-page .button") >= 4.5
    shoot(page, f"h18-414-{name}")
    page.keyboard.press("Tab")  # the skip link, then the page's own links
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "A"
    assert [p for p in console.problems if "status of 414" not in p] == []  # Chromium logs the page's own status


@pytest.mark.parametrize(("width", "name"), WIDTHS)
def test_an_import_with_a_row_of_three_errors_lists_all_three(gaps, live_server, page_factory, width, name):
    acme, base = gaps["acme"], live_server.url
    raw = b"external_id,title,country,languages\nC-9,Baker,DE,de:B2\nC-10,,Germanyy,german:B2\n"
    with tenant_scope(acme.id):
        job = start_import(tenant=acme, kind=Kind.CANDIDATES, raw=raw, filename="three.csv")
        wait_until(lambda: Job.objects.get(pk=job.pk).status == "done", timeout_s=60, what="import done")
    page, console = page_factory(width=width, height=900)
    log_in(page, base, "rita", PASSWORD)
    page.goto(f"{base}/jobs/{job.pk}/")
    expect(page.locator("#import-errors tbody tr")).to_have_count(3)
    expect(page.locator("#job")).to_contain_text("1 refused")
    assert _overflow(page) <= 1
    shoot(page, f"h18-import-three-errors-{name}")
    assert console.problems == []
