"""Filtered nearest-neighbour search within a tenant, on the tenant's active encoder only."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Cast
from pgvector.django import CosineDistance, VectorField

from tenants.models import Tenant

from ..errors import MatchingError
from ..models import CEFR_LEVELS, EncoderVersion, Kind, Record
from .calibration import Threshold, threshold_for
from .confidence import confidence_calibrator
from .encoding import active_encoder_version, encoder_for, text_hash
from .exclusions import TriggeredRule, exclusion_source
from .occupations import occupation_by_uri
from .records import MAX_DESCRIPTION_CHARS, parse_languages

MAX_K = 100
FILTER_KEYS = ("country", "city", "languages", "custom", "occupation", "isco")
MAX_FILTER_TERMS = 50


@dataclass(frozen=True)
class SearchFilters:
    country: str = ""
    city: str = ""
    languages: dict[str, str] = field(default_factory=dict)  # code -> minimum CEFR level
    custom: dict[str, object] = field(default_factory=dict)  # equality on custom fields
    occupation: str = ""  # an ESCO occupation URI among the row's top 3 (issue 20)
    isco: str = ""  # an ISCO-08 group (1 to 4 digits) one of the row's top 3 occupations falls in

    @classmethod
    def from_params(cls, params: Mapping | None) -> "SearchFilters":
        params = params or {}
        if not isinstance(params, Mapping):
            raise MatchingError("filters must be an object", field="filters")
        if unknown := sorted(set(params) - set(FILTER_KEYS)):
            raise MatchingError(
                f"unknown filter {unknown[0]!r} (known: {', '.join(FILTER_KEYS)})", field=f"filters.{unknown[0]}"
            )
        custom = params.get("custom") or {}
        if not isinstance(custom, Mapping) or any(not isinstance(v, str | int | float | bool) for v in custom.values()):
            raise MatchingError("custom filters map field names to a string, number or boolean", field="filters.custom")
        languages = parse_languages(params.get("languages"), field_name="filters.languages")
        if len(custom) + len(languages) > MAX_FILTER_TERMS:
            raise MatchingError(f"at most {MAX_FILTER_TERMS} filter terms", field="filters")
        country, city = params.get("country") or "", params.get("city") or ""
        if not isinstance(country, str) or not isinstance(city, str):
            raise MatchingError("country and city filters are strings", field="filters.country")
        for name, value in (("city", city), *((f"custom.{key}", f"{key}{v}") for key, v in custom.items())):
            if "\x00" in str(value):  # PostgreSQL text cannot hold NUL: refuse, don't 500
                raise MatchingError(f"the {name} filter contains a NUL character", field=f"filters.{name}")
        if country and (len(country.strip()) != 2 or not country.strip().isalpha()):
            raise MatchingError(f"country filter {country!r} is not an ISO 3166 alpha-2 code", field="filters.country")
        occupation, isco = _occupation_filters(params)
        return cls(
            country=country.strip().upper(),
            city=city.strip(),
            languages=languages,
            custom=dict(custom),
            occupation=occupation,
            isco=isco,
        )

    def as_q(self, prefix: str = "record__") -> Q:
        q = Q()
        if self.country:
            q &= Q(**{f"{prefix}country": self.country})
        if self.city:
            q &= Q(**{f"{prefix}city__iexact": self.city})
        for code, minimum in self.languages.items():  # B2 admits B2, C1 and C2
            q &= Q(**{f"{prefix}languages__{code}__in": list(CEFR_LEVELS[CEFR_LEVELS.index(minimum) :])})
        if self.custom:
            q &= Q(**{f"{prefix}custom_fields__contains": self.custom})
        # On vector rows (prefix "record__") the occupations are their own columns; on records, their vector rows'
        # (list_records pins the version).
        on = "" if prefix == "record__" else "embeddings__"
        if self.occupation:
            q &= Q(**{f"{on}occupation_uris__contains": [self.occupation]})
        if self.isco:
            q &= Q(**{f"{on}isco_codes__contains": [self.isco]})
        return q


def _occupation_filters(params: Mapping) -> tuple[str, str]:
    occupation, isco = params.get("occupation") or "", params.get("isco") or ""
    if not isinstance(occupation, str) or (occupation and occupation.strip() not in occupation_by_uri()):
        raise MatchingError("occupation filter is not an ESCO occupation URI", field="filters.occupation")
    if not isinstance(isco, str) or (isco and not (isco.strip().isascii() and isco.strip().isdigit()
                                                    and len(isco.strip()) <= 4)):  # fmt: skip
        raise MatchingError("isco filter is an ISCO-08 group of 1 to 4 digits", field="filters.isco")
    return occupation.strip(), isco.strip()


@dataclass(frozen=True)
class Match:
    kind: Kind
    record: Record
    similarity: float
    confidence: float | None  # the probability that this hit is a right match; null while the version has no calibrator
    is_match: bool | None  # similarity >= the threshold in use; null while no threshold is fitted yet

    @property
    def record_id(self) -> int:
        return self.record.pk


@dataclass(frozen=True)
class RuleEffect:
    """A rule that fired, and how many rows it removed: the rows of the searched kind, in the tenant, under the
    active encoder and within the search's filters, whose similarity to the rule's anchor B is >= its radius.
    Rows inside two rules' B count for both. It is the size of what the rule hid, not only from the top k."""

    rule_id: int
    rule: str
    removed: int
    trigger_similarity: float  # the query's similarity to the rule's anchor A


@dataclass(frozen=True)
class SearchResult:
    encoder: str
    kind: Kind
    matches: list[Match]
    threshold: float | None = None
    threshold_source: str | None = None  # "tenant" (fitted on its labels), "global" (validation data) or None
    excluded: list[RuleEffect] = field(default_factory=list)


def query_vector(*, tenant: Tenant, version: EncoderVersion, kind: Kind, record: Record) -> np.ndarray:
    """The record's stored vector when current, else encoded now (a search never waits on the worker)."""
    stored = (
        kind.embedding_model.objects.filter(
            tenant=tenant, encoder_version=version, record=record, text_hash=text_hash(record.text_for_encoding)
        )
        .values_list("vector", flat=True)
        .first()
    )
    if stored is not None:
        return np.asarray(stored, dtype=np.float32)
    vectors, _ = encoder_for(version).encode([record.text_for_encoding])
    return vectors[0]


def search(
    *,
    tenant: Tenant,
    target: Kind,
    k: int = 10,
    filters: SearchFilters | None = None,
    record: Record | None = None,
    text: str | None = None,
    only_matches: bool = False,
) -> SearchResult:
    """Top-k `target` rows for a record of the other kind, or for free text, nearest first, after the exclusion
    rules the query triggers; only_matches keeps rows at or above the tenant's threshold (none while it has none)."""
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise MatchingError(f"k must be between 1 and {MAX_K}", field="k")
    if (record is None) == (text is None):
        raise MatchingError("search by a record or by text, not both or neither", field="text")
    version = active_encoder_version(tenant=tenant)
    if record is not None:
        if record.tenant_id != tenant.id:
            raise MatchingError("not found", status=404)  # same answer as an id that never existed
        source = Kind.VACANCIES if record._meta.model is Kind.VACANCIES.record_model else Kind.CANDIDATES
        if source == target:
            raise MatchingError(f"a {record._meta.verbose_name} is matched against {source.other.value}", field="kind")
        query = query_vector(tenant=tenant, version=version, kind=source, record=record)
    else:
        text = text.strip() if isinstance(text, str) else ""
        if not text or len(text) > MAX_DESCRIPTION_CHARS:
            raise MatchingError(f"text must be 1 to {MAX_DESCRIPTION_CHARS} characters", field="text")
        query = encoder_for(version).encode([text])[0][0]
    filters = filters or SearchFilters()
    rules = exclusion_source().triggered(tenant=tenant, version=version, query=query)
    threshold = threshold_for(tenant=tenant, version=version)
    hits = (
        []
        if only_matches and threshold is None
        else nearest(  # nothing is a match before calibration
            tenant=tenant,
            target=target,
            version=version,
            query=query,
            filters=filters,
            k=k,
            exclusions=rules,
            threshold=threshold,
            only_matches=only_matches,
        )
    )
    return SearchResult(
        encoder=version.name,
        kind=target,
        matches=hits,
        threshold=None if threshold is None else threshold.value,
        threshold_source=None if threshold is None else threshold.source,
        excluded=rule_effects(tenant=tenant, target=target, version=version, filters=filters, rules=rules),
    )


def _inside_anchor(rule: TriggeredRule) -> Q:
    """This row is inside the rule's anchor B (its similarity alias, see below, is >= the radius)."""
    return Q(**{f"rule_{rule.rule_id}_similarity__gte": rule.exclude_radius})


def _with_anchor_similarities(rows: QuerySet, rules: list[TriggeredRule], version: EncoderVersion) -> QuerySet:
    vector = Cast("vector", VectorField(dimensions=version.dimension))
    return rows.alias(
        **{
            f"rule_{rule.rule_id}_similarity": Value(1.0) - CosineDistance(vector, rule.exclude_vector.tolist())
            for rule in rules
        }
    )


def rule_effects(
    *, tenant: Tenant, target: Kind, version: EncoderVersion, filters: SearchFilters, rules: list[TriggeredRule]
) -> list[RuleEffect]:
    """How many rows each triggered rule removed (see RuleEffect): one counting query for all of them."""
    if not rules:
        return []
    rows = target.embedding_model.objects.filter(tenant=tenant, encoder_version=version).filter(filters.as_q())
    rows = _with_anchor_similarities(rows, rules, version)
    counts = rows.aggregate(**{f"r{rule.rule_id}": Count("pk", filter=_inside_anchor(rule)) for rule in rules})
    return [
        RuleEffect(
            rule_id=rule.rule_id,
            rule=rule.name,
            removed=counts[f"r{rule.rule_id}"],
            trigger_similarity=rule.trigger_similarity,
        )
        for rule in rules
    ]


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
) -> QuerySet:
    """All matching rows of `target`, nearest first, none inside an exclusion's anchor B and none below
    min_similarity. Through the HNSW index unless `exact` (slice it inside hnsw_search_settings() then): the
    iterative index scan keeps walking until k rows pass these conditions, so excluding rows never shortens the top
    k while k rows remain."""
    # The index's cast and version predicate (index_sql.py) let the planner use it; ordering by the bare column
    # cannot match the index expression, so the exact query keeps the btree/GIN filter indexes and skips the graph.
    column = "vector" if exact else Cast("vector", VectorField(dimensions=version.dimension))
    distance = CosineDistance(column, query.tolist())
    rows = target.embedding_model.objects.filter(tenant=tenant, encoder_version=version)
    rows = rows.filter(filters.as_q() & Q(record__tenant=tenant))  # lets the planner start from a record index
    if exclusions:
        rows = _with_anchor_similarities(rows, list(exclusions), version)
        for rule in exclusions:
            rows = rows.exclude(_inside_anchor(rule))
    # Callers read the distance and the record, never the stored vector: 384 floats a row not worth shipping.
    rows = rows.select_related("record").defer("vector").annotate(distance=distance)
    if min_similarity is not None:
        rows = rows.filter(distance__lte=1.0 - min_similarity)
    return rows.order_by("distance")


@contextmanager
def hnsw_search_settings() -> Iterator[None]:
    """Iterative scans keep walking the graph until k rows pass the filters (pgvector >= 0.8); relaxed order is
    re-sorted by the caller. ef_search bounds each step's candidate list (recall: bench/search.py)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(f"SET LOCAL hnsw.ef_search = {int(settings.SEARCH_HNSW_EF_SEARCH)}")
        yield


def few_enough_for_exact(*, tenant: Tenant, target: Kind, filters: SearchFilters) -> bool:
    """Whether the filters leave at most SEARCH_EXACT_MAX_ROWS of the tenant's records: counted on the records'
    own indexes and stopped one past the limit, so a large tenant pays for at most that many index entries.

    Ranking a few thousand rows exactly costs about what a walk of the graph does (bench/search.py at 1M rows: p50
    18 ms for 5,000 rows, 12 ms through the graph), and a graph shared by all tenants is a poor way to find the few
    rows of a small tenant or a narrow filter: the iterative scan visits mostly other rows and recall drops."""
    limit = settings.SEARCH_EXACT_MAX_ROWS
    records = target.record_model.objects.filter(tenant=tenant).filter(filters.as_q(prefix=""))
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
) -> list[Match]:
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
        )

    # A confidence is read off the best calibrator.pool rows and the next one, so it does not change with k.
    calibrator = confidence_calibrator(version)
    fetch = max(k, calibrator.pool + 1) if calibrator is not None else k
    hits = []
    if not few_enough_for_exact(tenant=tenant, target=target, filters=filters):
        with hnsw_search_settings():
            hits = sorted(rows(exact=False)[:fetch], key=lambda row: row.distance)  # relaxed order: re-sort them
    if len(hits) < fetch:
        # Also the answer whenever the index scan came back short: it gives up after hnsw.max_scan_tuples entries,
        # which rows excluded by rules or thresholds, or not-yet-vacuumed dead entries, can use up before k pass.
        hits = list(rows(exact=True)[:fetch])
    confidence = [None] * len(hits)
    if calibrator is not None and hits:
        confidence = calibrator.predict(np.array([1.0 - hit.distance for hit in hits])).tolist()
    hits = hits[:k]
    return [
        Match(
            kind=target,
            record=hit.record,
            similarity=1.0 - hit.distance,
            confidence=confidence[i],
            is_match=None if threshold is None else threshold.admits(1.0 - hit.distance),
        )
        for i, hit in enumerate(hits)
    ]
