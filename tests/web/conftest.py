"""A real headless Chromium (Debian's package) driven by Playwright against pytest-django's live server, which runs
on the same real PostgreSQL, Redis and Celery worker as every other test."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package (or set CHROMIUM_PATH)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


class Console:
    """Every console error, failed request and uncaught exception of a page, so a test can insist on none."""

    def __init__(self, page: object) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"{page.url}: console {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"{page.url}: {e}"))
        page.on("requestfailed", self._failed)

    def _failed(self, request: object) -> None:
        # Leaving a page cancels its htmx requests still running (the dashboard's panels): the browser's doing.
        if request.failure == "net::ERR_ABORTED" and request.resource_type in ("xhr", "fetch"):
            return
        self.problems.append(f"{request.url}: request failed {request.failure}")


@pytest.fixture
def page_factory(browser: object) -> Iterator[object]:
    """page_factory(width=1280, height=900) -> (page, console); every context is closed after the test."""
    contexts = []

    def make(width: int = 1280, height: int = 900) -> tuple[object, Console]:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        return page, Console(page)

    yield make
    for context in contexts:
        context.close()


def shoot(page: object, name: str) -> None:
    """A full-page screenshot under test-artifacts/ (looked at by a person; not compared by the test)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: object, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")  # the keyboard alone submits the form
    page.wait_for_url(f"{base}/")
