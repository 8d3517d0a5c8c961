"""Record search with the lexical channel (issue 20): a misspelt title still finds its rows first."""

import re

import numpy as np
import pytest
from django.db import connection
from pgvector import SparseVector

from matching.management.demo import demo_rows
from matching.ml.lexical import HASH_DIM
from matching.models import CandidateEmbedding, GlobalCalibration, Kind
from matching.services import SearchFilters, encode_records, labelled_pairs, record_feedback, search, upsert_records
from matching.services.calibration import labelled_set
from matching.services.encoding import encoder_for
from matching.services.lexical import from_sparsevec, lexical_weight, record_lexical, text_lexical
from matching.services.nearest import hnsw_search_settings, nearest, nearest_rows
from rules.services import Actor, create_rule
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_tenant(acme):
    """The demo's 180 vacancies and 360 candidates in acme, encoded in-process (the worker's service)."""
    vacancies, candidates = demo_rows()
    with tenant_scope(acme.id):
        for kind, rows in ((Kind.VACANCIES, vacancies), (Kind.CANDIDATES, candidates)):
            upsert_records(tenant=acme, kind=kind, rows=rows)
            ids = list(kind.record_model.objects.filter(tenant=acme).values_list("pk", flat=True))
            encode_records(tenant=acme, kind=kind, record_ids=ids)
    return acme


# The right rows: the demo's titles of that occupation (demo_rows builds them from ESCO). "Nurse responsible for
# general care" is ESCO's registered nurse; a veterinary or animal nurse is not one.
MISSPELT = [
    ("regestered nurse", r"(?i)\bnurse\b", r"(?i)veterinary|animal"),
    ("sofware developr", r"(?i)software developer|developer of software", None),
    ("acountant", r"(?i)\baccountant\b", None),
]


@pytest.mark.parametrize("target", [Kind.VACANCIES, Kind.CANDIDATES])
@pytest.mark.parametrize(("query", "right", "wrong"), MISSPELT)
def test_a_misspelt_title_finds_its_occupations_rows_first(demo_tenant, target, query, right, wrong):
    with tenant_scope(demo_tenant.id):
        result = search(tenant=demo_tenant, target=target, text=query, k=3)
    first = result.matches[0].record.title
    assert re.search(right, first) and not (wrong and re.search(wrong, first)), [m.record.title for m in result.matches]


def _fused_of(tenant, kind, record, query_lexical, query_vector):
    """A row's fused score computed here from its stored vectors, independently of the search's SQL."""
    row = kind.embedding_model.objects.get(tenant=tenant, record=record, encoder_version=tenant.active_encoder)
    dense = float(np.asarray(row.vector, dtype=np.float32) @ query_vector)
    stored = from_sparsevec(row.lexical)
    lexical = dense if stored is None else query_lexical.dot(stored)
    w = lexical_weight(tenant.active_encoder)
    return (1 - w) * dense + w * lexical, dense


def _query(tenant, text):
    return encoder_for(tenant.active_encoder).encode([text])[0][0], text_lexical(text)


def test_the_similarity_shown_is_the_fused_score_and_the_explanation_keeps_the_dense_cosine(acme):
    rows = [candidate(acme, title) for title in ("Accountant", "Account manager", "Tax adviser", "Welder")]
    vector, lexical = _query(acme, "acountant")
    with tenant_scope(acme.id):
        result = search(tenant=acme, target=Kind.CANDIDATES, text="acountant", k=4)
        expected = {r.id: _fused_of(acme, Kind.CANDIDATES, r, lexical, vector) for r in rows}
    assert result.lexical_weight == lexical_weight(acme.active_encoder) > 0
    assert [m.record_id for m in result.matches] == sorted(expected, key=lambda i: -expected[i][0])
    for match in result.matches:
        assert match.similarity == pytest.approx(expected[match.record_id][0], abs=1e-5)
        assert match.explanation.dense_similarity == pytest.approx(expected[match.record_id][1], abs=1e-5)


def test_a_row_stored_before_the_lexical_channel_still_searches_by_its_dense_cosine(acme):
    old = candidate(acme, "Accountant")
    new = candidate(acme, "Accountant")
    with tenant_scope(acme.id):
        CandidateEmbedding.objects.filter(record=old).update(lexical=None)  # as migrated, before it was filled
        result = search(tenant=acme, target=Kind.CANDIDATES, text="acountant", k=10)
    by_id = {m.record_id: m for m in result.matches}
    assert set(by_id) == {old.id, new.id}
    assert by_id[old.id].similarity == pytest.approx(by_id[old.id].dense_similarity, abs=1e-6)
    assert by_id[new.id].similarity != pytest.approx(by_id[new.id].dense_similarity, abs=1e-3)


def test_encoding_an_unchanged_row_fills_its_missing_lexical_vector(acme):
    row = candidate(acme, "Accountant", description="Bookkeeping")
    with tenant_scope(acme.id):
        CandidateEmbedding.objects.filter(record=row).update(lexical=None)
        encode_records(tenant=acme, kind=Kind.CANDIDATES, record_ids=[row.id])
        stored = from_sparsevec(CandidateEmbedding.objects.get(record=row).lexical)
    expected = record_lexical(["Accountant"], ["Bookkeeping"])[0]
    assert stored is not None and stored.dot(expected) == pytest.approx(1.0, abs=1e-5)


def test_a_version_whose_lexical_weight_is_0_ranks_by_the_dense_cosine_alone(acme):
    for title in ("Accountant", "Account manager", "Welder"):
        candidate(acme, title)
    version = acme.active_encoder
    version.config = version.config | {"lexical_weight": 0}
    version.save()
    with tenant_scope(acme.id):
        result = search(tenant=acme, target=Kind.CANDIDATES, text="acountant", k=3)
    assert result.lexical_weight == 0 and result.score_mix == ""
    assert [m.similarity for m in result.matches] == pytest.approx([m.dense_similarity for m in result.matches])


def test_only_matches_and_is_match_cut_on_the_fused_score(acme):
    rows = [candidate(acme, t) for t in ("Accountant", "Junior accountant", "Account manager", "Auditor", "Welder")]
    with tenant_scope(acme.id):
        everything = search(tenant=acme, target=Kind.CANDIDATES, text="acountant", k=10).matches
    # A line between two fused scores where the dense order disagrees, so a cut on the dense cosine would differ.
    fused = sorted(m.similarity for m in everything)
    line = (fused[1] + fused[2]) / 2
    GlobalCalibration.objects.create(
        encoder_version=acme.active_encoder, n_labels=3, n_good=1, threshold=line, precision=1, recall=1, f1=1,
        false_accept_rate=0, curve=[{"threshold": line, "precision": 1, "recall": 1, "f1": 1, "far": 0.0}],
    )  # fmt: skip
    with tenant_scope(acme.id):
        kept = search(tenant=acme, target=Kind.CANDIDATES, text="acountant", k=10, only_matches=True).matches
        judged = search(tenant=acme, target=Kind.CANDIDATES, text="acountant", k=10).matches
    assert {m.record_id for m in kept} == {m.record_id for m in everything if m.similarity >= line}
    assert all(m.is_match == (m.similarity >= line) for m in judged)
    assert len(rows) == len(judged)


def test_an_exclusion_rule_and_a_filter_hold_under_the_fused_ranking(acme):
    nurses = [candidate(acme, t, country="DE") for t in ("District nurse", "Practice nurse", "Registered nurse")]
    vet = candidate(acme, "Veterinary nurse", country="DE")
    candidate(acme, "Registered nurse", country="FR")
    data = {"name": "nurses, not vets", "trigger_text": "nurse", "trigger_radius": 0.6,
            "exclude_text": "veterinary nurse", "exclude_radius": 0.9}  # fmt: skip
    with tenant_scope(acme.id):
        create_rule(tenant=acme, data=data, actor=Actor(name="test"))
        result = search(
            tenant=acme,
            target=Kind.CANDIDATES,
            text="nurse",
            k=10,
            filters=SearchFilters.from_params({"country": "de"}),
        )
        vector, lexical = _query(acme, "nurse")
        expected = {n.id: _fused_of(acme, Kind.CANDIDATES, n, lexical, vector)[0] for n in nurses}
    assert [effect.rule for effect in result.excluded] == ["nurses, not vets"]
    assert vet.id not in {m.record_id for m in result.matches}
    assert [m.record_id for m in result.matches] == sorted(expected, key=lambda i: -expected[i])
    assert [m.similarity for m in result.matches] == pytest.approx(sorted(expected.values(), reverse=True), abs=1e-5)


WORDS = (
    "accountant",
    "welder",
    "nurse",
    "plumber",
    "cook",
    "driver",
    "teacher",
    "baker",
    "painter",
    "roofer",
    "cashier",
    "chemist",
    "dentist",
    "farmer",
    "florist",
    "glazier",
    "jeweller",
    "lawyer",
    "mason",
    "miner",
)


@pytest.fixture
def lexical_pool(acme):
    """3,000 candidates in 20 dense clusters; cluster c's rows are titled with one of five variants of WORDS[c]
    ("nurse", "senior nurse", ...), so within a cluster the lexical channel reorders what the dense one ranks.
    Each row stores its real lexical vector; 1 in 33 (3%) has team=rare."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 384))
    n = 3000
    cluster = np.arange(n) % 20
    variants = ("{}", "senior {}", "{} assistant", "junior {}", "head {}")
    titles = [variants[(i // 20) % 5].format(WORDS[c]) for i, c in enumerate(cluster)]
    rows = [{"external_id": f"c{i}", "title": titles[i], "custom_fields": {"team": "rare" if i % 33 == 0 else "x"}}
            for i in range(n)]  # fmt: skip
    vectors = centres[cluster] + rng.normal(scale=0.35, size=(n, 384))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    lexical = record_lexical(titles, None)
    with tenant_scope(acme.id):
        ids = []
        for start in range(0, n, 1000):
            ids += upsert_records(tenant=acme, kind=Kind.CANDIDATES, rows=rows[start : start + 1000]).ids
        CandidateEmbedding.objects.bulk_create(
            CandidateEmbedding(
                tenant=acme, record_id=record_id, encoder_version=acme.active_encoder, vector=vector,
                text_hash="synthetic", lexical=SparseVector(dict(zip(lex.indices.tolist(), lex.values.tolist(),
                                                                     strict=True)), HASH_DIM),
            )
            for record_id, vector, lex in zip(ids, vectors, lexical, strict=True)
        )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE matching_candidateembedding")
    rare = np.arange(n) % 33 == 0
    return np.array(ids), vectors, lexical, rare, centres


def test_through_the_hnsw_index_the_fused_top_k_is_k_rows_and_matches_the_exact_fused_ranking(
    acme, lexical_pool, settings
):
    settings.SEARCH_EXACT_MAX_ROWS = 0  # every search takes the index path (a large tenant's)
    ids, vectors, lexical, rare, centres = lexical_pool
    w = lexical_weight(acme.active_encoder)
    found = []
    for cluster, typed in ((2, "nurce"), (0, "acountant"), (9, "rofer")):
        query = (centres[cluster] / np.linalg.norm(centres[cluster])).astype(np.float32)
        query_lexical = text_lexical(typed)
        for filters, keep in ((SearchFilters(), np.ones(len(ids), dtype=bool)),
                              (SearchFilters.from_params({"custom": {"team": "rare"}}), rare)):  # fmt: skip
            with tenant_scope(acme.id):
                hits = nearest(
                    tenant=acme, target=Kind.CANDIDATES, version=acme.active_encoder, query=query,
                    lexical=query_lexical, filters=filters, k=10,
                )  # fmt: skip
            scores = (1 - w) * (vectors @ query) + w * np.array([query_lexical.dot(x) for x in lexical])
            scores[~keep] = -np.inf
            exact = set(ids[np.argsort(-scores)[:10]])
            assert len(hits) == 10
            assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)
            found.append(len({h.record.id for h in hits} & exact))
    assert sum(found) / (10 * len(found)) >= 0.95, found  # recall@10 against the exact fused ranking
    with tenant_scope(acme.id):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")  # no exact sort: the order must come from the HNSW index
        with hnsw_search_settings():
            plan = nearest_rows(
                tenant=acme, target=Kind.CANDIDATES, version=acme.active_encoder, query=query, lexical=query_lexical,
                filters=SearchFilters(),
            )[:100].explain()  # fmt: skip
    assert "candidateembedding_hnsw_v" in plan  # the fused query still walks the dense graph


def test_a_tenants_labelled_pairs_are_scored_as_its_searches_score_them(acme):
    job = vacancy(acme, "Accountant", description="Bookkeeping and tax returns")
    people = [candidate(acme, t) for t in ("Acountant", "Junior accountant", "Account manager", "Welder")]
    with tenant_scope(acme.id):
        for person, good in zip(people, (True, True, False, False), strict=True):
            record_feedback(tenant=acme, vacancy=job, candidate=person, good=good)
        served = {
            m.record_id: m.similarity for m in search(tenant=acme, target=Kind.CANDIDATES, record=job, k=10).matches
        }
        labelled = labelled_set(tenant=acme, version=acme.active_encoder)
        order = [p.candidate_id for p in labelled_pairs(tenant=acme)]
    assert labelled.similarities.tolist() == pytest.approx([served[i] for i in order], abs=1e-5)


def test_the_search_page_and_the_operator_panel_say_how_the_similarity_is_mixed(acme, acme_admin):
    candidate(acme, "Accountant")
    words = "60% meaning and 40% spelling"
    assert words in acme_admin.get("/search/?q=acountant&kind=candidates").content.decode()
    assert words in acme_admin.get("/").content.decode()
