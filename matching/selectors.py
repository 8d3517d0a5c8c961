"""Reads of matching/ data; never writes. Another tenant's row reads exactly like a missing one."""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import JSONField, OuterRef, Q, QuerySet, Subquery

from tenants.models import Tenant

from .errors import MatchingError
from .models import CalibrationPolicy, EncoderVersion, GlobalCalibration, Job, Kind, Record, ThresholdFit
from .services.calibration import MIN_LABELS_PER_CLASS, Threshold, policy_for, threshold_for
from .services.filters import SearchFilters
from .services.nearest import hnsw_search_settings, nearest_rows


def get_record(*, tenant: Tenant, kind: Kind, record_id: int | str) -> Record:
    try:
        return kind.record_model.objects.get(tenant=tenant, pk=int(record_id))
    except (kind.record_model.DoesNotExist, ValueError, TypeError):
        raise MatchingError(f"{kind.singular} {record_id} not found", status=404) from None


def get_record_by_external_id(*, tenant: Tenant, kind: Kind, external_id: str) -> Record:
    try:
        return kind.record_model.objects.get(tenant=tenant, external_id=external_id)
    except kind.record_model.DoesNotExist:
        raise MatchingError(
            f"no {kind.value} row with external_id {external_id!r}", field="external_id", status=404
        ) from None


def list_records(
    *, tenant: Tenant, kind: Kind, filters: SearchFilters | None = None, query: str = "", external_id: str = ""
) -> QuerySet:
    for name, value in (("q", query), ("external_id", external_id)):
        if "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse, don't 500
            raise MatchingError(f"{name} contains a NUL character", field=name)
    rows = kind.record_model.objects.filter(tenant=tenant)
    if filters is not None and (filters.occupation or filters.isco):  # one join: the active version's vector row
        rows = rows.filter(filters.as_q(prefix=""), embeddings__encoder_version_id=tenant.active_encoder_id)
    elif filters is not None:
        rows = rows.filter(filters.as_q(prefix=""))
    if query:
        rows = rows.filter(Q(title__icontains=query) | Q(external_id=query))
    if external_id:
        rows = rows.filter(external_id=external_id)
    vectors = kind.embedding_model.objects.filter(
        tenant=tenant, encoder_version_id=tenant.active_encoder_id, record=OuterRef("pk")
    )
    return rows.annotate(
        top_occupations=Subquery(vectors.values("occupations")[:1], output_field=JSONField())
    ).order_by("-id")


def list_feedback(*, tenant: Tenant) -> QuerySet:
    from .models import Feedback

    return Feedback.objects.filter(tenant=tenant).select_related("vacancy", "candidate", "user", "api_key")


def latest_threshold_fit(*, tenant: Tenant) -> ThresholdFit | None:
    fits = ThresholdFit.objects.filter(tenant=tenant, encoder_version_id=tenant.active_encoder_id)
    return fits.order_by("-fitted_at", "-id").first()


def feedback_marks(*, tenant: Tenant, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The tenant's current mark ("good"/"bad") on each (vacancy id, candidate id) pair that has one."""
    from .models import Feedback

    rows = Feedback.objects.filter(
        tenant=tenant, vacancy_id__in=[v for v, _ in pairs], candidate_id__in=[c for _, c in pairs]
    ).values_list("vacancy_id", "candidate_id", "label")
    wanted = set(pairs)
    return {(v, c): label for v, c, label in rows if (v, c) in wanted}


def label_counts(*, tenant: Tenant) -> tuple[int, int]:
    """(good, bad) marks of the tenant."""
    from django.db.models import Count

    from .models import Feedback

    counts = Feedback.objects.filter(tenant=tenant).aggregate(
        good=Count("pk", filter=Q(label=Feedback.Label.GOOD)), bad=Count("pk", filter=Q(label=Feedback.Label.BAD))
    )
    return counts["good"], counts["bad"]


@dataclass(frozen=True)
class RowsWithin:
    """The tenant's rows of one kind whose similarity to a vector is at least a radius: how many, and the nearest."""

    kind: Kind
    total: int
    nearest: list[tuple[Record, float]]


def rows_within(
    *, tenant: Tenant, kind: Kind, version: EncoderVersion, vector: np.ndarray, min_similarity: float, limit: int
) -> RowsWithin:
    """Rows of `kind` inside the sphere (vector, min_similarity) under `version`, the nearest `limit` of them."""
    rows = nearest_rows(
        tenant=tenant,
        target=kind,
        version=version,
        query=np.asarray(vector, dtype=np.float32),
        filters=SearchFilters(),
        min_similarity=min_similarity,
    )
    with hnsw_search_settings():
        nearest = sorted(rows[:limit], key=lambda row: row.distance)  # relaxed order: re-sort
    return RowsWithin(kind=kind, total=rows.count(), nearest=[(row.record, 1.0 - row.distance) for row in nearest])


def recent_jobs(*, tenant: Tenant, limit: int) -> list[Job]:
    return list(Job.objects.filter(tenant=tenant).order_by("-created_at", "-id")[:limit])


def get_job(*, tenant: Tenant, job_id: int) -> Job:
    job = Job.objects.filter(tenant=tenant, pk=job_id).first()
    if job is None:
        raise MatchingError(f"job {job_id} not found", status=404)
    return job


def global_calibration(*, version: EncoderVersion) -> GlobalCalibration | None:
    return GlobalCalibration.objects.filter(encoder_version=version).first()


@dataclass(frozen=True)
class CalibrationState:
    """What a tenant's calibration looks like now: the API, the calibration page and the dashboard show it."""

    version: EncoderVersion
    threshold: Threshold | None
    policy: CalibrationPolicy
    fit: ThresholdFit | None
    global_fit: GlobalCalibration | None
    refit: Job | None  # the latest refit job
    min_labels_per_class: int = MIN_LABELS_PER_CLASS


def calibration_state(*, tenant: Tenant) -> CalibrationState:
    version = tenant.active_encoder
    return CalibrationState(
        version=version,
        threshold=threshold_for(tenant=tenant, version=version),
        policy=policy_for(tenant=tenant),
        fit=latest_threshold_fit(tenant=tenant),
        global_fit=global_calibration(version=version),
        refit=Job.objects.filter(tenant=tenant, kind=Job.Type.CALIBRATION).order_by("-created_at", "-id").first(),
    )


def created_since(*, tenant: Tenant, kind: Kind, since: datetime) -> int:
    """How many of the tenant's vacancies or candidates were added at or after `since`."""
    return kind.record_model.objects.filter(tenant=tenant, created_at__gte=since).count()
