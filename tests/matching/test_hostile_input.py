"""Hostile input over the API and CSV: a clear 4xx (or the text stored verbatim), and nothing stored changes."""

import json

import pytest
from django.conf import settings

from matching.errors import MatchingError
from matching.models import Kind, Vacancy
from matching.services.imports import import_csv
from tenants.scoping import tenant_scope
from tests.factories import vacancy

pytestmark = pytest.mark.django_db

SQLISH = [
    "x'; DROP TABLE matching_vacancy; --",
    "1 OR 1=1",
    '" OR ""="',
    "%' UNION SELECT secret_hash FROM tenants_apikey --",
]


@pytest.fixture
def stored(acme, globex):
    """What must survive every request below: a row of the caller's tenant and one of another tenant."""
    vacancy(acme, "Cook", external_id="keep", encode=False)
    vacancy(globex, "Welder", external_id="theirs", encode=False)
    return _snapshot(acme, globex)


def _snapshot(*tenants) -> list[tuple]:
    rows = []
    for tenant in tenants:
        with tenant_scope(tenant.id):
            rows += list(Vacancy.objects.order_by("id").values_list("tenant_id", "external_id", "title", "updated_at"))
    return rows


def _post_raw(client, path: str, body: bytes, content_type: str = "application/json"):
    return client.generic("POST", path, body, content_type=content_type)


def test_a_10_mb_body_is_refused_with_413_before_it_is_read(acme, globex, stored, api_client):
    rows = [{"external_id": f"big-{i}", "title": "Cook", "description": "x" * 10_000} for i in range(1_050)]
    body = json.dumps({"rows": rows}).encode()
    assert len(body) > 10_000_000 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = _post_raw(api_client(acme), "/api/v1/vacancies/bulk/", body)
    assert response.status_code == 413
    assert response.json()["field"] is None and "limit" in response.json()["detail"]
    assert _snapshot(acme, globex) == stored


@pytest.mark.parametrize(
    "body",
    [b'{"external_id": "v1", "title": "K\xc3\x28ch"}', b'{"external_id": "v1", "title": "\xff\xfe"}', b"\x80"],
    ids=["bad-continuation", "bad-start", "lone-byte"],
)
def test_invalid_utf8_in_a_json_body_is_a_400(acme, globex, stored, api_client, body):
    response = _post_raw(api_client(acme), "/api/v1/vacancies/", body)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert _snapshot(acme, globex) == stored


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/vacancies/", [{"external_id": "v1", "title": "Cook"}], None),  # an array, not an object
        ("/api/v1/vacancies/", {"external_id": ["v1"], "title": "Cook"}, "external_id"),
        ("/api/v1/vacancies/", {"external_id": "v1", "title": "Cook", "latitude": "north", "longitude": 1}, "latitude"),
        ("/api/v1/vacancies/", {"external_id": "v1", "title": "Cook", "languages": ["en"]}, "languages"),
        ("/api/v1/vacancies/", {"external_id": "v1", "title": "Cook", "id": 1}, "id"),
        ("/api/v1/vacancies/", {"external_id": "v1", "title": "Cook", "tenant": 2}, "tenant"),
        ("/api/v1/vacancies/", {"external_id": "v1", "title": "C\x00ok"}, "title"),
        ("/api/v1/vacancies/", {"external_id": "v1", "title": "x" * 1_000_000}, "title"),
        ("/api/v1/vacancies/bulk/", {"rows": "all of them"}, "rows"),
        ("/api/v1/vacancies/bulk/", {"rows": [{"external_id": "v1", "title": "Cook", "tenant_id": 2}]}, "rows"),
        ("/api/v1/vacancies/bulk/", {"rows": [{"external_id": "keep", "title": "Chef", "id": 1}]}, "rows"),
        ("/api/v1/search/", {"text": "cook", "kind": "candidates", "k": "ten"}, "k"),
        ("/api/v1/search/", {"text": "cook", "kind": "managers"}, "kind"),
        ("/api/v1/search/", {"text": "x" * 1_000_000, "kind": "candidates"}, "text"),
        ("/api/v1/search/", {"vacancy_id": "1 OR 1=1"}, "vacancy_id"),
    ],
    ids=lambda value: None,
)
def test_wrong_types_unknown_fields_and_huge_texts_are_a_400_naming_the_field(
    acme, globex, stored, api_client, path, body, field
):
    response = api_client(acme).post(path, body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["field"] == field
    assert _snapshot(acme, globex) == stored


def test_ten_thousand_search_filters_are_refused(acme, globex, stored, api_client):
    filters = {"custom": {f"f{i}": "x" for i in range(10_000)}}
    response = api_client(acme).post(
        "/api/v1/search/", {"text": "cook", "kind": "candidates", "filters": filters}, format="json"
    )
    assert (response.status_code, response.json()["field"]) == (400, "filters")


def test_ten_thousand_list_filters_in_the_query_string_are_refused(acme, globex, stored, api_client):
    query = "&".join(f"custom.f{i}=x" for i in range(10_000))
    response = api_client(acme).get(f"/api/v1/vacancies/?{query}")
    assert response.status_code == 400
    assert "parameters" in response.json()["detail"]


@pytest.mark.parametrize("text", SQLISH)
def test_sql_ish_text_is_stored_verbatim_and_changes_nothing_else(acme, globex, stored, api_client, text):
    client = api_client(acme)
    created = client.post("/api/v1/vacancies/", {"external_id": text, "title": text}, format="json")
    assert created.status_code == 201
    assert client.get(f"/api/v1/vacancies/{created.json()['id']}/").json()["title"] == text
    assert [row for row in _snapshot(acme, globex) if row[1] != text] == stored  # the new row, and no other change


@pytest.mark.parametrize("text", SQLISH)
def test_sql_ish_filters_and_queries_match_nothing_and_leak_nothing(acme, globex, stored, api_client, text):
    client = api_client(acme)
    for params in ({"q": text}, {"external_id": text}, {"city": text}, {f"custom.{'team'}": text}):
        response = client.get("/api/v1/vacancies/", params)
        assert (response.status_code, response.json()["results"]) == (200, []), params
    assert client.get("/api/v1/vacancies/", {"country": text}).status_code == 400
    assert _snapshot(acme, globex) == stored


def _import(tenant, raw: bytes):
    with tenant_scope(tenant.id):
        return import_csv(tenant=tenant, kind=Kind.VACANCIES, raw=raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"external_id,title\nv1,K\xc3\x28ch\n", "not UTF-8"),
        (b"external_id,name\nv1,Cook\n", "no 'title' column"),
        (b'external_id,title\nv1,"Cook\n', "malformed CSV"),
        (b"external_id,title,title\nv1,Cook,Chef\n", "repeated column"),
    ],
    ids=["invalid-utf8", "no-title", "unterminated-quote", "repeated-column"],
)
def test_a_csv_that_cannot_be_read_is_refused_whole(acme, globex, stored, raw, message):
    with pytest.raises(MatchingError, match=message):
        _import(acme, raw)
    assert _snapshot(acme, globex) == stored


def test_bad_csv_rows_are_reported_by_line_and_change_nothing_stored(acme, globex, stored):
    raw = (
        "external_id,title,latitude,longitude,languages\n"
        f"keep,{'x' * 100_000},,,\n"  # a huge title for a stored row: refused, the row keeps its title
        "v2,Cook,north,1,\n"
        "v3,C\x00ok,,,\n"
        "v4,Cook,,,en:Z9\n"
        "v5,Cook,,\n"
    ).encode()
    report = _import(acme, raw)
    assert [error["line"] for error in report.errors] == [2, 3, 4, 5, 6]
    assert (report.created, report.updated) == (0, 0)
    assert _snapshot(acme, globex) == stored


def test_a_csv_with_ten_thousand_custom_columns_is_refused_row_by_row(acme, globex, stored):
    header = "external_id,title," + ",".join(f"c{i}" for i in range(10_000))
    raw = f"{header}\nv1,Cook,{','.join('x' * 10_000)}\n".encode()
    report = _import(acme, raw)
    assert [(error["line"], error["field"]) for error in report.errors] == [(2, "custom_fields")]
    assert _snapshot(acme, globex) == stored


def test_sql_ish_csv_values_are_stored_verbatim_in_the_callers_tenant_only(acme, globex, stored):
    raw = "external_id,title\n" + "".join(
        f'"s{i}","{text.replace(chr(34), chr(34) * 2)}"\n' for i, text in enumerate(SQLISH)
    )
    report = _import(acme, raw.encode())
    assert (report.created, report.errors) == (len(SQLISH), [])
    with tenant_scope(acme.id):
        assert sorted(Vacancy.objects.exclude(external_id="keep").values_list("title", flat=True)) == sorted(SQLISH)
    assert _snapshot(globex) == stored[1:]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/vacancies/", b'{"external_id": "v1", "title": "Cook", "custom_fields": {"a": 1e400}}'),
        ("/api/v1/vacancies/", b'{"external_id": "v1", "title": "Cook", "custom_fields": {"a": NaN}}'),
        ("/api/v1/search/", b'{"text": "cook", "kind": "candidates", "filters": {"custom": {"a": -1e999}}}'),
    ],
    ids=["overflowing-number", "nan", "overflowing-filter"],
)
def test_a_number_beyond_float_range_is_a_400_not_a_database_error(acme, globex, stored, api_client, path, body):
    response = _post_raw(api_client(acme), path, body)
    assert response.status_code == 400
    assert "range" in response.json()["detail"] or "JSON parse error" in response.json()["detail"]
    assert _snapshot(acme, globex) == stored
