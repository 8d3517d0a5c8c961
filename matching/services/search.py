"""Filtered nearest-neighbour search within a tenant, on the tenant's active encoder only."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Q

from jobmatch_site.replica import search_reads
from tenants.models import Tenant

from ..errors import MatchingError
from ..ml.lexical import SparseRow
from ..models import EncoderVersion, Kind, Record
from .encoding import active_encoder_version, encoder_for, text_hash
from .exclusions import TriggeredRule, exclusion_source
from .explanations import Explanation, grade
from .filters import SearchFilters
from .lexical import from_sparsevec, lexical_weight, record_lexical, score_mix, text_lexical
from .nearest import Match, inside_anchor, nearest, with_anchor_similarities
from .records import MAX_DESCRIPTION_CHARS
from .requirements import check_requirements, clean_mode, distance_km, requirements_q
from .search_settings import search_settings, title_vector

MAX_K = 100


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
    requirements: str = "filter"  # the mode used
    shape: str = "text"  # the query's shape: "record" or "text" (which global threshold applies)
    lexical_weight: float = 0.0  # w in similarity = (1 - w) x dense cosine + w x lexical cosine

    @property
    def score_mix(self) -> str:
        return score_mix(self.lexical_weight)

    @property
    def no_strong_match(self) -> bool:
        """No hit is graded strong or possible: the nearest rows are shown, but none is a match."""
        return not any(m.grade in ("strong", "possible") for m in self.matches)


def query_vectors(
    *, tenant: Tenant, version: EncoderVersion, kind: Kind, record: Record
) -> tuple[np.ndarray, SparseRow]:
    """The record's stored dense and lexical vectors when current, else computed now (a search never waits on the
    worker): the same vectors a labelled pair of it is scored with (services/calibration.py)."""
    stored = (
        kind.embedding_model.objects.filter(
            tenant=tenant, encoder_version=version, record=record, text_hash=text_hash(record.text_for_encoding)
        )
        .values_list("vector", "lexical")
        .first()
    )
    if stored is not None:
        dense = np.asarray(stored[0], dtype=np.float32)
    else:
        dense = encoder_for(version).encode([record.text_for_encoding])[0][0]
    lexical = from_sparsevec(stored[1]) if stored is not None else None
    return dense, lexical or record_lexical([record.title], [record.description])[0]


def _shared_occupations(
    *, tenant: Tenant, version: EncoderVersion, target: Kind, record: Record | None, hits: Sequence["Match"]
) -> dict[int, list[str]]:
    """Per hit, the labels of the stored top-3 occupations it shares with the query record (services/
    normalization.py): one query for all hits. Empty for free text, or while the query has none stored."""
    if record is None or not hits:
        return {}
    source = target.other
    mine = (
        source.embedding_model.objects.filter(tenant=tenant, encoder_version=version, record=record)
        .values_list("occupations", flat=True)
        .first()
    )
    if not mine:
        return {}
    labels = {hit["uri"]: hit["label"] for hit in mine}
    theirs = target.embedding_model.objects.filter(
        tenant=tenant, encoder_version=version, record_id__in=[hit.record.pk for hit in hits]
    ).values_list("record_id", "occupations")
    return {
        record_id: [labels[o["uri"]] for o in occupations or [] if o["uri"] in labels]
        for record_id, occupations in theirs
    }


@search_reads  # read from the replica when there is one and it is fresh (jobmatch_site/replica.py)
def search(
    *,
    tenant: Tenant,
    target: Kind,
    k: int = 10,
    filters: SearchFilters | None = None,
    record: Record | None = None,
    text: str | None = None,
    only_matches: bool = False,
    requirements: str | None = None,
) -> SearchResult:
    """Top-k `target` rows for a record of the other kind, or for free text, nearest first, after the exclusion
    rules the query triggers and the vacancy's requirements (services/requirements.py: filter, rank or ignore);
    only_matches keeps rows at or above the tenant's threshold (none while it has none)."""
    mode = clean_mode(requirements)
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise MatchingError(f"k must be between 1 and {MAX_K}", field="k")
    if (record is None) == (text is None):
        raise MatchingError("search by a record or by text, not both or neither", field="text")
    version = active_encoder_version(tenant=tenant)
    prepared = search_settings(tenant=tenant, version=version)
    title = None
    if record is not None:
        if record.tenant_id != tenant.id:
            raise MatchingError("not found", status=404)  # same answer as an id that never existed
        source = Kind.VACANCIES if record._meta.model is Kind.VACANCIES.record_model else Kind.CANDIDATES
        if source == target:
            raise MatchingError(f"a {record._meta.verbose_name} is matched against {source.other.value}", field="kind")
        query, lexical = query_vectors(tenant=tenant, version=version, kind=source, record=record)
        if exclusion_source().has_rules(tenant=tenant, version=version):  # the title only triggers rules
            title = title_vector(version=version, title=record.title)
    else:
        text = text.strip() if isinstance(text, str) else ""
        if not text or len(text) > MAX_DESCRIPTION_CHARS:
            raise MatchingError(f"text must be 1 to {MAX_DESCRIPTION_CHARS} characters", field="text")
        query = encoder_for(version).encode([text])[0][0]
        lexical = text_lexical(text)
    filters = filters or SearchFilters()
    rules = exclusion_source().triggered(tenant=tenant, version=version, query=query)
    if title is not None:
        # A rule's trigger is a short title ("nurse"); a record's whole text adds a description that dilutes its
        # similarity to one (the demo's "Senior specialist nurse" scores 0.57 to "nurse" as a record, 0.70 as a
        # title), so a record fires a rule when its title OR its whole text is inside anchor A (README).
        rules = _either(rules, exclusion_source().triggered(tenant=tenant, version=version, query=title))
    shape = "text" if record is None else "record"
    threshold = prepared.thresholds[shape]
    policy = prepared.policy
    required = (Q(), Q())  # on the embedding rows, on the record rows
    if record is not None and mode == "filter":
        required = tuple(requirements_q(query=record, policy=policy, prefix=p) for p in ("record__", ""))

    def checks(row: Record) -> list:
        if record is None or mode == "ignore":
            return []
        vacancy, candidate = (record, row) if target == Kind.CANDIDATES else (row, record)
        return check_requirements(vacancy=vacancy, candidate=candidate, policy=policy)

    def penalty(row: Record) -> float:
        return policy.rank_penalty * sum(1 for check in checks(row) if not check.met)

    hits = (
        []
        if only_matches and threshold is None
        else nearest(  # nothing is a match before calibration
            tenant=tenant,
            target=target,
            version=version,
            query=query,
            lexical=lexical,
            filters=filters,
            k=k,
            exclusions=rules,
            threshold=threshold,
            only_matches=only_matches,
            required=required,
            penalty_of=penalty if mode == "rank" else None,
        )
    )
    fired = [rule.name for rule in rules]
    shared = _shared_occupations(tenant=tenant, version=version, target=target, record=record, hits=hits)
    explained = []
    for hit in hits:
        found = checks(hit.record)
        explanation = Explanation(
            requirements=found,
            distance_km=None if record is None else _rounded(distance_km(record, hit.record)),
            rules=fired,
            threshold=None if threshold is None else threshold.value,
            threshold_source=None if threshold is None else threshold.label,
            penalty=round(hit.similarity - hit.score, 6) if hit.score is not None else 0.0,
            occupations=shared.get(hit.record.pk),
            dense_similarity=hit.dense_similarity,
        )
        score = hit.similarity if hit.score is None else hit.score
        explained.append(
            Match(
                kind=hit.kind,
                record=hit.record,
                similarity=hit.similarity,
                confidence=hit.confidence,
                is_match=hit.is_match,
                score=score,
                grade=grade(score=score, threshold=explanation.threshold, confidence=hit.confidence),
                explanation=explanation,
                dense_similarity=hit.dense_similarity,
            )
        )
    return SearchResult(
        encoder=version.name,
        kind=target,
        matches=explained,
        threshold=None if threshold is None else threshold.value,
        threshold_source=None if threshold is None else threshold.source,
        excluded=rule_effects(
            tenant=tenant, target=target, version=version, filters=filters, rules=rules, required=required[0]
        ),
        requirements=mode,
        shape=shape,
        lexical_weight=lexical_weight(version),
    )


def _rounded(km: float | None) -> float | None:
    return None if km is None else round(km, 1)


def _either(first: list[TriggeredRule], second: list[TriggeredRule]) -> list[TriggeredRule]:
    """The rules either query vector fired, each once, with the higher trigger similarity."""
    best = {}
    for rule in (*first, *second):
        if rule.rule_id not in best or rule.trigger_similarity > best[rule.rule_id].trigger_similarity:
            best[rule.rule_id] = rule
    return sorted(best.values(), key=lambda rule: rule.rule_id)


def rule_effects(
    *,
    tenant: Tenant,
    target: Kind,
    version: EncoderVersion,
    filters: SearchFilters,
    rules: list[TriggeredRule],
    required: Q | None = None,
) -> list[RuleEffect]:
    """How many rows each triggered rule removed (see RuleEffect): one counting query for all of them."""
    if not rules:
        return []
    rows = target.embedding_model.objects.filter(tenant=tenant, encoder_version=version).filter(filters.as_q())
    rows = rows.filter(required or Q())
    rows = with_anchor_similarities(rows, rules, version)
    counts = rows.aggregate(**{f"r{rule.rule_id}": Count("pk", filter=inside_anchor(rule)) for rule in rules})
    return [
        RuleEffect(
            rule_id=rule.rule_id,
            rule=rule.name,
            removed=counts[f"r{rule.rule_id}"],
            trigger_similarity=rule.trigger_similarity,
        )
        for rule in rules
    ]
