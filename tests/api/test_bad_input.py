"""Input PostgreSQL cannot store (lone surrogates, NUL, numbers beyond a float, nesting bombs, foreign charsets,
crafted cursors) is refused at the request's edge with a 4xx naming the field: never a 500, nothing written."""

import base64
import io
import json

import pytest
from django.core.wsgi import get_wsgi_application

from jobmatch_site.middleware import Utf8OnlyWsgi
from matching.models import Feedback, Vacancy
from rules.models import ExclusionRule
from tenants.scoping import tenant_scope
from tenants.services import create_api_key
from tests.factories import candidate, vacancy

# The app as jobmatch_site/wsgi.py wraps it, without its forbid_encoder_builds(): importing wsgi.py would stop
# this whole test process from building encoder exports.
application = Utf8OnlyWsgi(get_wsgi_application())

pytestmark = pytest.mark.django_db

RULE = '{"name": "n", "trigger_text": "welder", "trigger_radius": 0.8, "exclude_text": "teacher", "exclude_radius": 0.8'
HUGE = "9" * 401  # an integer no float can hold
NESTED = "[" * 100_000 + "]" * 100_000


def _send(client, method: str, path: str, body: str | bytes, content_type: str = "application/json"):
    return client.generic(method, path, body.encode() if isinstance(body, str) else body, content_type=content_type)


@pytest.fixture
def row(acme):
    return vacancy(acme, "Cook", external_id="keep", encode=False)


def _nothing_changed(acme, row) -> bool:
    with tenant_scope(acme.id):
        stored = list(Vacancy.objects.values_list("external_id", "title"))
        return stored == [("keep", "Cook")] and not ExclusionRule.objects.exists() and not Feedback.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/api/v1/vacancies/{id}/", r'{"title": "\udfff"}', "title"),
        ("PATCH", "/api/v1/vacancies/{id}/", r'{"custom_fields": {"a": "x\ud800"}}', "custom_fields.a"),
        ("PATCH", "/api/v1/vacancies/{id}/", r'{"custom_fields": {"\udfff": "x"}}', "custom_fields"),
        ("POST", "/api/v1/vacancies/bulk/", r'{"rows": [{"external_id": "v2", "title": "\udfff"}]}', "rows.0.title"),
        ("POST", "/api/v1/rules/", RULE.replace('"n"', r'"\udfff"') + "}", "name"),
        ("POST", "/api/v1/rules/", RULE + r', "note": "\ud83d"}', "note"),
        ("POST", "/api/v1/search/", r'{"text": "cook", "kind": "candidates", "filters": {"city": "\udfff"}}',
         "filters.city"),
        ("POST", "/api/v1/search/", r'{"text": "cook", "kind": "candidates", "filters": {"custom": {"a": "\udfff"}}}',
         "filters.custom.a"),
    ],
    ids=["patch-title", "custom-value", "custom-key", "bulk", "rule-name", "rule-note", "filter-city", "filter-custom"],
)  # fmt: skip
def test_a_lone_surrogate_in_a_json_string_is_a_400_naming_the_field(acme, api_client, row, method, path, body, field):
    response = _send(api_client(acme), method, path.format(id=row.id), body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert _nothing_changed(acme, row)


@pytest.mark.parametrize("field", ["name", "trigger_text", "exclude_text", "note"])
def test_a_nul_in_a_rule_field_is_a_400_naming_it(acme, api_client, row, field):
    body = RULE.replace(f'"{field}": "', f'"{field}": "x\\u0000') + "}"
    if field == "note":
        body = RULE + r', "note": "a\u0000b"}'
    response = _send(api_client(acme), "POST", "/api/v1/rules/", body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert _nothing_changed(acme, row)


def test_a_nul_in_a_feedback_csv_cell_is_a_400_naming_the_file_and_line(acme, api_client, row):
    candidate(acme, "Cook", external_id="c1", encode=False)
    upload = io.BytesIO(b"vacancy_external_id,candidate_external_id,label\nkeep,c1,good\nkeep,c\x001,bad\n")
    upload.name = "pairs.csv"
    response = api_client(acme).post("/api/v1/feedback/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "file" and response.json()["detail"].startswith("line 3:")
    assert _nothing_changed(acme, row)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/vacancies/", f'{{"external_id": "v2", "title": "Cook", "latitude": {HUGE}, "longitude": 1}}',
         "latitude"),
        ("/api/v1/rules/", RULE.replace('"trigger_radius": 0.8', f'"trigger_radius": {HUGE}') + "}", "trigger_radius"),
        ("/api/v1/rules/", RULE.replace('"exclude_radius": 0.8', f'"exclude_radius": -{HUGE}') + "}", "exclude_radius"),
        ("/api/v1/vacancies/", '{"external_id": "v2", "title": "Cook", "custom_fields": {"a": 1e400}}',
         "custom_fields.a"),
    ],
    ids=["latitude", "trigger-radius", "exclude-radius", "float-overflow"],
)  # fmt: skip
def test_a_number_too_large_for_a_float_is_a_400_naming_the_field(acme, api_client, row, path, body, field):
    response = _send(api_client(acme), "POST", path, body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert _nothing_changed(acme, row)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/api/v1/vacancies/{id}/", f'{{"custom_fields": {{"a": {NESTED}}}}}', "custom_fields.a.0"),
        ("POST", "/api/v1/search/", f'{{"text": "cook", "kind": "candidates", "filters": {NESTED}}}', "filters.0.0"),
        (
            "PATCH",
            "/api/v1/vacancies/{id}/",
            '{"custom_fields": ' + '{"a": ' * 40 + "1" + "}" * 41,
            "custom_fields.a.a",
        ),
    ],
    ids=["100k-custom-fields", "100k-filters", "40-levels"],
)
def test_deeply_nested_json_is_a_400_naming_the_field(acme, api_client, row, method, path, body, field):
    response = _send(api_client(acme), method, path.format(id=row.id), body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert _nothing_changed(acme, row)


def _call_wsgi(method: str, path: str, query: str, body: bytes, content_type: str, **headers: str) -> tuple[str, bytes]:
    """A request to the WSGI application gunicorn serves: the test client builds Django's request itself."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "CONTENT_TYPE": content_type}
    environ |= {f"HTTP_{name.upper()}": value for name, value in headers.items()}
    environ |= {"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http"}
    environ |= {"SERVER_NAME": "testserver", "SERVER_PORT": "80", "wsgi.errors": io.StringIO()}
    answer = {}
    chunks = application(environ, lambda status, headers: answer.update(status=status))
    return answer["status"], b"".join(chunks)


@pytest.mark.parametrize("charset", ["rot13", "no-such-charset", "utf-16", "latin-1"])
@pytest.mark.parametrize(("method", "query"), [("POST", ""), ("GET", "q=cook")])
def test_a_charset_other_than_utf8_is_a_415_on_the_api(acme, row, in_test_transaction, charset, method, query):
    body = b'{"external_id": "v2", "title": "Cook"}' if method == "POST" else b""
    content_type, key = f"application/json; charset={charset}", create_api_key(tenant=acme, name="t")[1]
    status, answer = _call_wsgi(method, "/api/v1/vacancies/", query, body, content_type, authorization=f"Api-Key {key}")
    assert status.startswith("415 "), answer
    assert json.loads(answer)["field"] is None and "UTF-8" in json.loads(answer)["detail"]
    assert _nothing_changed(acme, row)


def test_a_codec_that_is_not_a_text_encoding_is_a_415_on_a_page(db, in_test_transaction):
    status, answer = _call_wsgi("GET", "/vacancies/", "q=cook", b"", "text/plain; charset=rot13")
    assert status.startswith("415 "), answer


def test_an_explicit_utf8_charset_is_accepted(acme, api_client, row):
    body = '{"external_id": "v2", "title": "Köchin"}'
    response = _send(api_client(acme), "POST", "/api/v1/vacancies/", body, "application/json; charset=UTF-8")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("position", ["abc", "1e5", "-", "1;DROP", "９"])
def test_a_crafted_cursor_is_the_documented_404(acme, api_client, row, position):
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    response = api_client(acme).get("/api/v1/vacancies/", {"cursor": cursor})
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "Invalid cursor", "field": "cursor"}
