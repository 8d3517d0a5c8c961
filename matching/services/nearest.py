"""The nearest rows of a tenant for one query vector: the HNSW walk or the exact ranking, filters, requirements,
exclusion anchors, thresholds and the fused (dense + lexical) score; search.py builds a search around it."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce
from pgvector.django import CosineDistance, MaxInnerProduct, SparseVectorField, VectorField

from jobmatch_site.replica import read_alias
from tenants.models import Tenant

from ..ml.lexical import SparseRow
from ..models import EncoderVersion, Kind, Record
from .calibration import Threshold
from .exclusions import TriggeredRule
from .explanations import Explanation
from .filters import SearchFilters
from .lexical import lexical_weight, sparsevec_text
from .search_settings import search_settings

MAX_RANK_POOL = 4000  # rows requirements=rank may re-rank for one search
# Through the graph, the fused score re-ranks this many times the rows asked for (at least FUSED_POOL_MIN) of the
# nearest by the dense cosine: recall@10 against the exact fused ranking, bench/fused_search.py (bench/README.md).
FUSED_POOL_FACTOR, FUSED_POOL_MIN = 4, 100


@dataclass(frozen=True)
class Match:
    kind: Kind
    record: Record
    similarity: float
    confidence: float | None  # the probability that this hit is a right match; null while the version has no calibrator
    is_match: bool | None  # score >= the threshold in use; null while no threshold is fitted yet
    score: float | None = None  # the similarity less the penalty for unmet requirements (requirements=rank)
    grade: str = "below"  # strong / possible / weak / below: services/explanations.py
    explanation: Explanation = field(default_factory=Explanation)
    dense_similarity: float | None = None  # the dense cosine alone; `similarity` is the fused score

    @property
    def record_id(self) -> int:
        return self.record.pk


def inside_anchor(rule: TriggeredRule) -> Q:
    """This row is inside the rule's anchor B (its similarity alias, see below, is >= the radius)."""
    return Q(**{f"rule_{rule.rule_id}_similarity__gte": rule.exclude_radius})


def with_anchor_similarities(rows: QuerySet, rules: list[TriggeredRule], version: EncoderVersion) -> QuerySet:
    vector = Cast("vector", VectorField(dimensions=version.dimension))
    return rows.alias(
        **{
            f"rule_{rule.rule_id}_similarity": Value(1.0) - CosineDistance(vector, rule.exclude_vector.tolist())
            for rule in rules
        }
    )


def nearest_rows(
    *,
    tenant: Tenant,
    target: Kind,
    version: EncoderVersion,
    query: np.ndarray,
    filters: SearchFilters,
    exclusions: Sequence[TriggeredRule] = (),
    min_similarity: float | None = None,
    exact: bool = False,
    required: Q | None = None,
    lexical: SparseRow | None = None,
) -> QuerySet:
    """All matching rows of `target`, nearest first, none inside an exclusion's anchor B and none below
    min_similarity. Through the HNSW index unless `exact` (slice it inside hnsw_search_settings() then): the
    iterative index scan keeps walking until k rows pass these conditions, so excluding rows never shortens the top
    k while k rows remain.

    With a `lexical` query vector and a version whose lexical weight is not 0, `distance` is 1 - the fused score
    and min_similarity applies to it; `dense_distance` is the dense one. The exact query orders by the fused
    score; the index query by the dense distance (the graph's order), for the caller to re-rank (nearest())."""
    # The index's cast and version predicate (index_sql.py) let the planner use it; ordering by the bare column
    # cannot match the index expression, so the exact query keeps the btree/GIN filter indexes and skips the graph.
    column = "vector" if exact else Cast("vector", VectorField(dimensions=version.dimension))
    distance = dense = CosineDistance(column, query.tolist())
    weight = lexical_weight(version) if lexical is not None else 0.0
    if weight:
        # A row stored before the channel existed (lexical null) is scored by its dense cosine alone.
        inner = MaxInnerProduct("lexical", Cast(Value(sparsevec_text(lexical)), SparseVectorField()))
        dense_similarity = Value(1.0) - dense
        lexical_similarity = Coalesce(Value(0.0) - inner, dense_similarity, output_field=FloatField())
        distance = Value(1.0) - (Value(1.0 - weight) * dense_similarity + Value(weight) * lexical_similarity)
    rows = target.embedding_model.objects.filter(tenant=tenant, encoder_version=version)
    rows = rows.filter(filters.as_q() & Q(record__tenant=tenant))  # lets the planner start from a record index
    rows = rows.filter(required or Q())  # the vacancy's requirements (requirements=filter)
    if exclusions:
        rows = with_anchor_similarities(rows, list(exclusions), version)
        for rule in exclusions:
            rows = rows.exclude(inside_anchor(rule))
    # Callers read the distance and the record, never the stored vector: 384 floats a row not worth shipping.
    rows = rows.select_related("record").defer("vector", "lexical").annotate(distance=distance)
    rows = rows.annotate(dense_distance=dense) if weight else rows.annotate(dense_distance=F("distance"))
    if min_similarity is not None:
        rows = rows.filter(distance__lte=1.0 - min_similarity)
    return rows.order_by("dense_distance" if weight and not exact else "distance")


@contextmanager
def hnsw_search_settings() -> Iterator[None]:
    """Iterative scans keep walking the graph until k rows pass the filters (pgvector >= 0.8); relaxed order is
    re-sorted by the caller. ef_search bounds each step's candidate list (recall: bench/search.py)."""
    alias = read_alias()  # the search's own database: a SET LOCAL binds that connection's transaction only
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(f"SET LOCAL hnsw.ef_search = {int(settings.SEARCH_HNSW_EF_SEARCH)}")
        yield


def few_enough_for_exact(
    *, tenant: Tenant, target: Kind, filters: SearchFilters, required_records: Q | None = None
) -> bool:
    """Whether the filters leave at most SEARCH_EXACT_MAX_ROWS of the tenant's records: counted on the records'
    own indexes and stopped one past the limit, so a large tenant pays for at most that many index entries.

    Ranking a few thousand rows exactly costs about what a walk of the graph does (bench/search.py at 1M rows: p50
    18 ms for 5,000 rows, 12 ms through the graph), and a graph shared by all tenants is a poor way to find the few
    rows of a small tenant or a narrow filter: the iterative scan visits mostly other rows and recall drops."""
    limit = settings.SEARCH_EXACT_MAX_ROWS
    records = target.record_model.objects.filter(tenant=tenant).filter(filters.as_q(prefix=""))
    records = records.filter(required_records or Q())
    return records[: limit + 1].count() <= limit


def nearest(
    *,
    tenant: Tenant,
    target: Kind,
    version: EncoderVersion,
    query: np.ndarray,
    filters: SearchFilters,
    k: int,
    exclusions: Sequence[TriggeredRule] = (),
    threshold: Threshold | None = None,
    only_matches: bool = False,
    required: tuple[Q, Q] | None = None,
    penalty_of: Callable[[Record], float] | None = None,
    lexical: SparseRow | None = None,
) -> list[Match]:
    """`required`: the requirement filter as (on the embedding rows, on the record rows); `penalty_of`: a row's
    score penalty (requirements=rank), the rows then ranked by similarity less penalty. With `lexical`, rows rank
    by the fused score (nearest_rows) and the similarity is that score."""
    on_rows, on_records = required or (Q(), Q())

    def rows(*, exact: bool) -> QuerySet:
        return nearest_rows(
            tenant=tenant,
            target=target,
            version=version,
            query=query,
            filters=filters,
            exclusions=exclusions,
            min_similarity=threshold.value if only_matches and threshold is not None else None,
            exact=exact,
            required=on_rows,
            lexical=lexical,
        )

    fused = lexical is not None and lexical_weight(version) > 0

    # A confidence is read off the best calibrator.pool rows and the next one, so it does not change with k.
    calibrator = search_settings(tenant=tenant, version=version).calibrator
    fetch = max(k, calibrator.pool + 1) if calibrator is not None else k
    via_index = not few_enough_for_exact(tenant=tenant, target=target, filters=filters, required_records=on_records)

    def nearest_first(count: int) -> list:
        hits = []
        if via_index:
            # The graph walks by the dense cosine: the fused top `count` is re-ranked from a wider dense pool.
            pool = max(count, min(FUSED_POOL_FACTOR * count, MAX_RANK_POOL), FUSED_POOL_MIN) if fused else count
            with hnsw_search_settings():
                hits = sorted(rows(exact=False)[:pool], key=lambda row: row.distance)  # relaxed order: re-sort
            hits = hits[:count] if len(hits) == pool else []
        if len(hits) < count:
            # Also the answer whenever the index scan came back short: it gives up after hnsw.max_scan_tuples
            # entries, which rows excluded by rules, requirements or thresholds, or not-yet-vacuumed dead entries,
            # can use up before k pass.
            hits = list(rows(exact=True)[:count])
        return hits

    # rank starts wider: a second round trip cost more than fetching 4x the rows once (bench/thresholds_by_shape.py)
    hits = nearest_first(fetch if penalty_of is None else min(4 * fetch, MAX_RANK_POOL))
    scores = [1.0 - hit.distance for hit in hits]
    if penalty_of is not None:
        # A penalty only lowers a score, so once the fetch-th score beats the best similarity left unfetched (at
        # most the last fetched one), no row further out can enter: widen the fetch until it does (or the rows
        # run out, or MAX_RANK_POOL: beyond it the far rows stay out, a bound on the cost of one search).
        count = min(4 * fetch, MAX_RANK_POOL)
        while True:
            scores = [1.0 - hit.distance - penalty_of(hit.record) for hit in hits]
            ranked = sorted(range(len(hits)), key=lambda i: -scores[i])
            if len(hits) < count or count >= MAX_RANK_POOL or scores[ranked[fetch - 1]] >= 1.0 - hits[-1].distance:
                break
            count = min(count * 4, MAX_RANK_POOL)
            hits = nearest_first(count)
        hits, scores = [hits[i] for i in ranked[:fetch]], [scores[i] for i in ranked[:fetch]]
        if only_matches and threshold is not None:
            kept = [i for i, score in enumerate(scores) if threshold.admits(score)]
            hits, scores = [hits[i] for i in kept], [scores[i] for i in kept]
    confidence = [None] * len(hits)
    if calibrator is not None and hits:
        # The calibrator was fitted on dense cosines, nearest first (services/confidence.py): it reads the dense
        # cosines (less the same penalty) of the best pool + 1 hits sorted as a dense-only search has them, then the
        # rest in order, so a hit's confidence still does not change with k.
        dense = np.array([score + hit.distance - hit.dense_distance for score, hit in zip(scores, hits, strict=True)])
        head = min(calibrator.pool + 1, len(hits))
        order = np.r_[np.argsort(-dense[:head], kind="stable"), np.arange(head, len(hits))]
        confidence = np.empty(len(hits))
        confidence[order] = calibrator.predict(dense[order])
        confidence = confidence.tolist()
    return [
        Match(
            kind=target,
            record=hit.record,
            similarity=1.0 - hit.distance,
            confidence=confidence[i],
            is_match=None if threshold is None else threshold.admits(scores[i]),
            score=scores[i] if penalty_of is not None else None,
            dense_similarity=1.0 - hit.dense_distance,
        )
        for i, hit in enumerate(hits[:k])
    ]
