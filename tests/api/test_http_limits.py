"""Through the real gunicorn `serve` runs: an over-long URL or header answers the API's JSON error shape, and a
browser (Accept: text/html) the app's styled page with a way back."""

import http.client
import json
import socket
import subprocess
import time

import pytest

from jobmatch_site.http_server import gunicorn_command
from tests.conftest import ROOT, subprocess_env


@pytest.fixture(scope="module")
def server(django_db_setup) -> tuple[str, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = gunicorn_command(bind=f"127.0.0.1:{port}", workers=1, threads=2)
    process = subprocess.Popen(
        command, env=subprocess_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _raw_get(server: tuple[str, int], path: str, **headers: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(*server, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return response.status, response.getheader("Content-Type"), response.read()


def _get(server: tuple[str, int], path: str, **headers: str) -> tuple[int, str, dict]:
    status, content_type, body = _raw_get(server, path, **headers)
    return status, content_type, json.loads(body)


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# 5,000 characters: the headers arrive with the refused line; 100,000: they are read off the socket after it.
@pytest.mark.parametrize("length", [5_000, 100_000])
def test_a_browser_gets_a_styled_414_page_with_a_way_back(server, length):
    status, content_type, body = _raw_get(server, "/search/?q=" + "x" * length, Accept=BROWSER_ACCEPT)
    page = body.decode()
    assert (status, content_type) == (414, "text/html; charset=utf-8")
    assert 'data-status="414"' in page and "app.css" in page
    assert "This link is too long" in page and "search form" in page
    assert 'href="/search/"' in page and 'href="/"' in page


def test_a_browser_gets_a_styled_431_page(server):
    status, content_type, body = _raw_get(server, "/", Accept=BROWSER_ACCEPT, Cookie="x=" + "y" * 10_000)
    assert (status, content_type) == (431, "text/html; charset=utf-8")
    assert 'data-status="431"' in body.decode() and "cookies" in body.decode()


def test_an_over_long_url_is_a_json_414(server):
    status, content_type, body = _get(server, "/api/v1/vacancies/?q=" + "x" * 10_000)
    assert (status, content_type) == (414, "application/json")
    assert body["field"] is None and "URL is too long" in body["detail"]


def test_an_over_long_header_is_a_json_431(server):
    status, content_type, body = _get(server, "/api/v1/vacancies/", **{"X-Padding": "x" * 10_000})
    assert (status, content_type) == (431, "application/json")
    assert body["field"] is None and "header" in body["detail"]


def test_an_ordinary_request_reaches_the_app(server):
    status, content_type, body = _get(server, "/api/v1/vacancies/")
    assert (status, content_type, body["field"]) == (401, "application/json", None)
