import numpy as np
import pytest
from django.db import connection

from matching.models import CandidateEmbedding, Kind
from matching.services import SearchFilters, search, upsert_records
from matching.services.nearest import few_enough_for_exact, hnsw_search_settings, nearest, nearest_rows
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


def _search(tenant, **kwargs):
    with tenant_scope(tenant.id):
        return search(tenant=tenant, **kwargs)


def test_candidates_of_the_vacancys_occupation_rank_first(acme):
    job = vacancy(acme, "Welder", description="MIG and TIG welding of steel frames")
    welder = candidate(acme, "Metal welder", description="Eight years of TIG welding")
    candidate(acme, "Accountant", description="Bookkeeping and tax returns")
    candidate(acme, "Veterinary nurse", description="Care for animals in a clinic")
    result = _search(acme, target=Kind.CANDIDATES, record=job, k=3)
    assert result.matches[0].record.id == welder.id
    assert result.encoder == "base-minilm-l6-v2"
    assert [m.similarity for m in result.matches] == sorted((m.similarity for m in result.matches), reverse=True)


def test_free_text_finds_vacancies(acme):
    nurse = vacancy(acme, "Registered nurse", description="Ward nursing in a hospital")
    vacancy(acme, "Software developer", description="Python and Django")
    result = _search(acme, target=Kind.VACANCIES, text="hospital nurse", k=1)
    assert [m.record.id for m in result.matches] == [nurse.id]


def test_a_country_and_city_filter_keeps_only_rows_from_there(acme):
    job = vacancy(acme, "Cook")
    berlin = candidate(acme, "Cook", country="DE", city="Berlin")
    candidate(acme, "Cook", country="DE", city="Munich")
    candidate(acme, "Cook", country="FR", city="Paris")
    filters = SearchFilters.from_params({"country": "de", "city": "berlin"})
    result = _search(acme, target=Kind.CANDIDATES, record=job, filters=filters, k=10)
    assert [m.record.id for m in result.matches] == [berlin.id]


def test_a_minimum_language_level_admits_that_level_and_above_only(acme):
    job = vacancy(acme, "Translator")
    b1 = candidate(acme, "Translator", languages={"de": "B1"})
    b2 = candidate(acme, "Translator", languages={"de": "B2"})
    c2 = candidate(acme, "Translator", languages={"de": "C2", "en": "A2"})
    candidate(acme, "Translator", languages={"en": "C2"})
    filters = SearchFilters.from_params({"languages": {"de": "B2"}})
    result = _search(acme, target=Kind.CANDIDATES, record=job, filters=filters, k=10)
    assert {m.record.id for m in result.matches} == {b2.id, c2.id}
    assert b1.id not in {m.record.id for m in result.matches}


def test_a_custom_field_filter_matches_by_equality(acme):
    job = vacancy(acme, "Driver")
    remote = candidate(acme, "Driver", custom_fields={"remote": "yes", "licence": "C"})
    candidate(acme, "Driver", custom_fields={"remote": "no", "licence": "C"})
    filters = SearchFilters.from_params({"custom": {"remote": "yes"}})
    result = _search(acme, target=Kind.CANDIDATES, record=job, filters=filters, k=10)
    assert [m.record.id for m in result.matches] == [remote.id]


@pytest.fixture
def clustered_pool(acme):
    """4,000 candidates whose vectors sit in 40 clusters (HNSW's realistic case); 1 in 33 (3%) has team=rare."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 384))
    rows = [
        {
            "external_id": f"c{i}",
            "title": f"Candidate {i}",
            "custom_fields": {"team": "rare" if i % 33 == 0 else "common"},
        }
        for i in range(4000)
    ]
    vectors = centres[np.arange(4000) % 40] + rng.normal(scale=0.35, size=(4000, 384))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    with tenant_scope(acme.id):
        ids = []
        for start in range(0, len(rows), 1000):
            ids += upsert_records(tenant=acme, kind=Kind.CANDIDATES, rows=rows[start : start + 1000]).ids
        CandidateEmbedding.objects.bulk_create(
            CandidateEmbedding(
                tenant=acme,
                record_id=record_id,
                encoder_version=acme.active_encoder,
                vector=vector,
                text_hash="synthetic",
            )
            for record_id, vector in zip(ids, vectors, strict=True)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE matching_candidateembedding")
    rare = np.arange(4000) % 33 == 0
    return np.array(ids), vectors, rare, centres


def test_a_filter_keeping_3_percent_of_rows_still_returns_k_rows_through_the_hnsw_index(acme, clustered_pool, settings):
    settings.SEARCH_EXACT_MAX_ROWS = 0  # every search takes the index path (a large tenant's)
    ids, vectors, rare, centres = clustered_pool
    query = (centres[7] / np.linalg.norm(centres[7])).astype(np.float32)
    filters = SearchFilters.from_params({"custom": {"team": "rare"}})
    args = {
        "tenant": acme,
        "target": Kind.CANDIDATES,
        "version": acme.active_encoder,
        "query": query,
        "filters": filters,
    }
    with tenant_scope(acme.id):
        planners_choice = nearest(**args, k=10)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")  # no exact sort: the order must come from the HNSW index
        with hnsw_search_settings():
            plan = nearest_rows(**args)[:10].explain()
            through_index = list(nearest_rows(**args)[:10])  # the index path alone, without the exact fallback
    exact = set(ids[rare][np.argsort(-(vectors[rare] @ query))[:10]])
    assert "candidateembedding_hnsw_v" in plan
    for hits in (planners_choice, through_index):
        assert len(hits) == 10  # a plain HNSW scan returns ef_search candidates, of which ~3% pass the filter
        assert all(hit.record.custom_fields["team"] == "rare" for hit in hits)
        assert len({hit.record.id for hit in hits} & exact) >= 9  # recall@10 against an exact search


def test_a_few_rows_are_ranked_exactly_and_many_through_the_index(acme, clustered_pool, settings):
    ids, vectors, rare, centres = clustered_pool
    query = (centres[5] / np.linalg.norm(centres[5])).astype(np.float32)
    common = SearchFilters()
    narrow = SearchFilters.from_params({"custom": {"team": "rare"}})  # 122 of the 4,000 rows
    args = {"tenant": acme, "target": Kind.CANDIDATES, "version": acme.active_encoder, "query": query}
    settings.SEARCH_EXACT_MAX_ROWS = 1000
    with tenant_scope(acme.id):
        assert not few_enough_for_exact(tenant=acme, target=Kind.CANDIDATES, filters=common)
        assert few_enough_for_exact(tenant=acme, target=Kind.CANDIDATES, filters=narrow)
        exact_plan = nearest_rows(**args, filters=narrow, exact=True)[:10].explain()
        hits = nearest(**args, filters=narrow, k=10)
        settings.SEARCH_EXACT_MAX_ROWS = 4000  # the limit itself still counts as few
        assert few_enough_for_exact(tenant=acme, target=Kind.CANDIDATES, filters=common)
    assert "hnsw" not in exact_plan  # the bare column's order cannot use the expression index
    assert {hit.record.id for hit in hits} == set(ids[rare][np.argsort(-(vectors[rare] @ query))[:10]])
    assert [hit.similarity for hit in hits] == sorted((hit.similarity for hit in hits), reverse=True)


def test_when_the_index_scan_gives_up_early_the_exact_fallback_still_returns_k_rows(acme, clustered_pool, settings):
    settings.SEARCH_EXACT_MAX_ROWS = 0
    settings.SEARCH_HNSW_EF_SEARCH = 10  # a first candidate list far shorter than max_scan_tuples below
    ids, vectors, rare, centres = clustered_pool
    query = (centres[3] / np.linalg.norm(centres[3])).astype(np.float32)
    filters = SearchFilters.from_params({"custom": {"team": "rare"}})
    args = {"tenant": acme, "target": Kind.CANDIDATES, "version": acme.active_encoder, "query": query}
    with tenant_scope(acme.id):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")  # the index path...
            cursor.execute("SET LOCAL hnsw.max_scan_tuples = 40")  # ...stopping after 40 entries (~1 rare row)
        with hnsw_search_settings():
            short = list(nearest_rows(**args, filters=filters)[:10])
        hits = nearest(**args, filters=filters, k=10)
    exact = set(ids[rare][np.argsort(-(vectors[rare] @ query))[:10]])
    assert len(short) < 10
    assert {hit.record.id for hit in hits} == exact


NURSING = ("district nurse", "practice nurse", "ward nurse", "nurse", "midwife", "care assistant", "paramedic",
           "veterinary nurse", "dental nurse", "theatre nurse", "welder", "cook", "accountant", "plumber",
           "driver")  # fmt: skip


def test_every_hit_carries_the_probability_its_calibrator_gives_in_search_api_and_page(acme, api_client, acme_admin):
    from matching.services.confidence import load_shipped_confidence

    for title in NURSING:
        candidate(acme, title)
    before = _search(acme, target=Kind.CANDIDATES, text="nurse", k=5)
    assert [m.confidence for m in before.matches] == [None] * 5  # no calibrator stored yet: none, not a guess
    assert "chance it is right" not in acme_admin.get("/search/?q=nurse&kind=candidates").content.decode()
    load_shipped_confidence(acme.active_encoder)  # what preparing the base version does
    acme.refresh_from_db()
    few = _search(acme, target=Kind.CANDIDATES, text="nurse", k=3)
    many = _search(acme, target=Kind.CANDIDATES, text="nurse", k=15)
    confidence = [m.confidence for m in many.matches]
    assert all(isinstance(c, float) and 0 < c < 1 for c in confidence)
    assert [m.confidence for m in few.matches] == pytest.approx(confidence[:3])  # does not change with k
    assert confidence[0] > confidence[-1]  # the exact title first, a plumber or driver last
    body = api_client(acme).post("/api/v1/search/", {"text": "nurse", "kind": "candidates", "k": 15}, format="json")
    assert [hit["confidence"] for hit in body.json()["results"]] == pytest.approx(confidence)
    page = acme_admin.get("/search/?q=nurse&kind=candidates").content.decode()
    assert "chance it is right" in page and f"{round(confidence[0] * 100)}% likely" in page
