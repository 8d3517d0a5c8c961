"""A logged-in browser during a database outage gets what an API-key caller gets: 503 with Retry-After, not a 500.

The session and its user are loaded by middleware, before any view's error handling; the test stops this
worktree's embedded PostgreSQL for real and starts it again before it ends.
"""

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client

from jobmatch_site import embedded_postgres
from tenants.services import ensure_member

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.fixture
def browser(acme) -> Client:
    user = User.objects.create_user("rita", password="pw-rita-123")
    ensure_member(tenant=acme, user=user, role="recruiter")
    client = Client(raise_request_exception=False)  # what a browser sees, not the test client's re-raise
    client.force_login(user)
    assert client.get("/api/v1/vacancies/").status_code == 200  # logged in, before the outage
    return client


def test_a_logged_in_browser_gets_503_with_retry_after_while_the_database_is_down(browser):
    embedded_postgres.stop_postgres(mode="immediate")
    try:
        api, page = browser.get("/api/v1/vacancies/"), browser.get("/")
    finally:
        embedded_postgres.start_postgres()
        connections.close_all()
    assert (api.status_code, api.headers.get("Retry-After")) == (503, "5")
    assert api.headers["Content-Type"] == "application/json"
    assert api.json() == {"detail": "the database is unavailable; retry shortly", "field": None}
    assert (page.status_code, page.headers.get("Retry-After")) == (503, "5")
    assert page.headers["Content-Type"].startswith("text/html")
    assert "unavailable" in page.content.decode()
