"""Per-tenant similarity thresholds: which one a search uses, and fitting it to the tenant's labelled pairs.

A tenant's threshold is fitted (matching/ml/thresholds.fit_threshold) to its labelled pairs, scored as search scores
them: the fused similarity (dense cosine and lexical cosine, services/lexical.py) of the pair's stored vectors under
the tenant's active encoder, to the target it chose (best F1 by
default, or the lowest threshold whose false-accept rate stays within a maximum). Until it has
MIN_LABELS_PER_CLASS good and as many bad labels, searches use the encoder version's global threshold
(global_calibration.py). OPIS (matching/ml/metrics.opis, the function `evaluate` uses) is computed after each fit
across the tenant's occupation groups and across tenants, stored with the fit and logged.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import Max
from django.utils import timezone

from jobmatch_site import queue
from tenants.models import Tenant
from tenants.scoping import cross_tenant_scope, tenant_scope

from .. import task_names
from ..errors import MatchingError
from ..ml.metrics import opis
from ..ml.thresholds import fit_threshold
from ..models import (
    CalibrationPolicy,
    CalibrationTarget,
    EncoderVersion,
    Feedback,
    GlobalCalibration,
    Job,
    Kind,
    ThresholdFit,
)
from .encoding import active_encoder_version, encode_records
from .feedback import labelled_pairs
from .lexical import from_sparsevec, pair_similarity

logger = logging.getLogger(__name__)

# Below this many good AND bad labels the global threshold is used. Measured by bench/threshold_labels.py (bootstrap
# on the 39,672 validation pairs, base encoder): with 50 of each, refitted best-F1 thresholds spread by a standard
# deviation of 0.046 and reach an F1 on all pairs 0.024 below the best (p90 0.061); with 20 of each 0.062 / 0.030
# (p90 0.080), with 10 of each 0.084 / 0.047 (p90 0.125); doubling to 100 gains only 0.001 (p90 0.007). 50 is where
# the curve flattens: fewer labels give a threshold that is mostly noise.
MIN_LABELS_PER_CLASS = 50


@dataclass(frozen=True)
class Threshold:
    value: float
    source: str  # "tenant": fitted on its labels; "global": the encoder version's fallback
    shape: str = "text"  # the global fit's query shape: "record" (title + description) or "text"

    @property
    def label(self) -> str:
        """Where it comes from, for an explanation: "tenant", "global (record)" or "global (text)"."""
        return self.source if self.source == "tenant" else f"{self.source} ({self.shape})"

    def admits(self, similarity: float) -> bool:
        return similarity >= self.value


@dataclass(frozen=True)
class LabelledSet:
    similarities: np.ndarray
    labels: np.ndarray  # bool: good
    groups: np.ndarray
    labels_through: datetime | None


@dataclass(frozen=True)
class CalibrationReport:
    tenant: Tenant
    fit: ThresholdFit | None  # None when the tenant has no good or no bad label yet
    n_good: int
    n_bad: int
    threshold: Threshold | None  # what searches use now
    opis_tenants: float | None = None  # an operator figure (see cross_tenant_opis): never shown to a tenant


def policy_for(*, tenant: Tenant) -> CalibrationPolicy:
    return CalibrationPolicy.objects.filter(tenant=tenant).first() or CalibrationPolicy(tenant=tenant)


def clean_policy(*, target: str, max_false_accept_rate: float | None) -> float | None:
    """The rate to store for this target (None for best F1); refuses a target or rate that makes no sense."""
    if target not in CalibrationTarget.values:
        raise MatchingError(f"target must be one of {', '.join(CalibrationTarget.values)}", field="target")
    if target == CalibrationTarget.MAX_FALSE_ACCEPT_RATE:
        if max_false_accept_rate is None or not 0.0 < max_false_accept_rate < 1.0:
            raise MatchingError("max_false_accept_rate must be between 0 and 1", field="max_false_accept_rate")
        return max_false_accept_rate
    return None


def set_policy(*, tenant: Tenant, target: str, max_false_accept_rate: float | None = None) -> CalibrationPolicy:
    """Choose what the tenant's threshold is fitted to: best F1, or a maximum false-accept rate."""
    max_false_accept_rate = clean_policy(target=target, max_false_accept_rate=max_false_accept_rate)
    policy, _ = CalibrationPolicy.objects.update_or_create(
        tenant=tenant, defaults={"target": target, "max_false_accept_rate": max_false_accept_rate}
    )
    return policy


def _global_threshold(calibration: GlobalCalibration, policy: CalibrationPolicy, shape: str = "text") -> float:
    """The global fit is best-F1; a max-false-accept-rate tenant reads its point off the stored curve."""
    fit = (calibration.by_shape or {}).get(shape) or {"threshold": calibration.threshold, "curve": calibration.curve}
    curve = fit.get("curve") or []
    if policy.target != CalibrationTarget.MAX_FALSE_ACCEPT_RATE or not curve:
        return fit["threshold"]
    within = [p["threshold"] for p in curve if p["far"] <= policy.max_false_accept_rate]
    return min(within) if within else max(p["threshold"] for p in curve)


def threshold_for(*, tenant: Tenant, version: EncoderVersion, shape: str = "text") -> Threshold | None:
    """The tenant's own threshold when it has enough labels, else the version's global one for the query's shape
    ("record": a vacancy or candidate, title + description; "text": free text), else None. A version without a
    record fit (fitted before there was one) serves its text fit to both."""
    fit = (
        ThresholdFit.objects.filter(tenant=tenant, encoder_version=version, sufficient=True)
        .order_by("-fitted_at", "-id")
        .values_list("threshold", flat=True)
        .first()
    )
    if fit is not None:
        return Threshold(value=fit, source="tenant", shape=shape)
    calibration = GlobalCalibration.objects.filter(encoder_version=version).first()
    if calibration is None:  # fitted when the version was registered, or by the worker soon (versions.py)
        return None
    if shape not in (calibration.by_shape or {}):
        shape = "text"
    value = _global_threshold(calibration, policy_for(tenant=tenant), shape)
    return Threshold(value=value, source="global", shape=shape)


def labelled_set(*, tenant: Tenant, version: EncoderVersion) -> LabelledSet:
    """The tenant's labelled pairs as similarities under `version` (rows without a current vector are encoded)."""
    pairs = list(labelled_pairs(tenant=tenant))
    if not pairs:
        return LabelledSet(np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=object), None)
    vectors = {}
    wanted = {Kind.VACANCIES: {p.vacancy_id for p in pairs}, Kind.CANDIDATES: {p.candidate_id for p in pairs}}
    for kind, ids in wanted.items():
        encode_records(tenant=tenant, kind=kind, record_ids=ids, version=version)  # a no-op for current vectors
        rows = kind.embedding_model.objects.filter(tenant=tenant, encoder_version=version, record_id__in=ids)
        vectors[kind] = {
            rid: (np.asarray(v, dtype=np.float32), from_sparsevec(lex))
            for rid, v, lex in rows.values_list("record_id", "vector", "lexical")
        }
    similarities = np.array(
        [
            _score(version, vectors[Kind.VACANCIES][p.vacancy_id], vectors[Kind.CANDIDATES][p.candidate_id])
            for p in pairs
        ]
    )
    return LabelledSet(
        similarities=similarities,
        labels=np.array([p.good for p in pairs]),
        groups=np.array([p.group for p in pairs], dtype=object),
        labels_through=max(p.marked_at for p in pairs),
    )


def _score(version: EncoderVersion, vacancy: tuple, candidate: tuple) -> float:
    """A labelled pair's score as search serves it (the fused score, services/lexical.py)."""
    return pair_similarity(version, vacancy[0] @ candidate[0], vacancy[1], candidate[1])


def cross_tenant_opis(*, version: EncoderVersion) -> float | None:
    """OPIS with each tenant as a class, over the labelled pairs of every tenant serving `version` whose vectors are
    stored: does one threshold mean the same thing for every customer? Stored on the version's GlobalCalibration
    (operators see it; tenants never do) and logged. Reads across tenants on purpose: an operator figure."""
    with cross_tenant_scope():  # explicit for row-level security as well: this figure spans tenants
        marks = list(
            Feedback.unscoped.filter(tenant__active_encoder=version).values_list(
                "tenant_id", "vacancy_id", "candidate_id", "label"
            )
        )
        if not marks:
            return None
        vectors = {}
        for kind, ids in ((Kind.VACANCIES, {m[1] for m in marks}), (Kind.CANDIDATES, {m[2] for m in marks})):
            rows = kind.embedding_model.unscoped.filter(encoder_version=version, record_id__in=ids)
            vectors[kind] = {
                rid: (np.asarray(v, dtype=np.float32), from_sparsevec(lex))
                for rid, v, lex in rows.values_list("record_id", "vector", "lexical")
            }
        scored = [
            (
                tenant_id,
                _score(version, vectors[Kind.VACANCIES][v], vectors[Kind.CANDIDATES][c]),
                label == Feedback.Label.GOOD,
            )
            for tenant_id, v, c, label in marks
            if v in vectors[Kind.VACANCIES] and c in vectors[Kind.CANDIDATES]
        ]
    if not scored:
        return None
    classes, similarities, labels = (np.array(column) for column in zip(*scored, strict=True))
    consistency = opis(similarities, labels.astype(bool), classes).opis
    GlobalCalibration.objects.filter(encoder_version=version).update(
        opis_tenants=consistency, opis_tenants_at=timezone.now()
    )
    return consistency


def calibrate_tenant(
    *, tenant: Tenant, target: str | None = None, max_false_accept_rate: float | None = None
) -> CalibrationReport:
    """Fit the tenant's threshold to its labelled pairs under its active encoder and store the fit.

    A target given here becomes the tenant's policy. With no good or no bad label nothing is fitted; with fewer
    than MIN_LABELS_PER_CLASS of either, the fit is stored but searches keep the global threshold.
    """
    if target is not None:
        set_policy(tenant=tenant, target=target, max_false_accept_rate=max_false_accept_rate)
    policy = policy_for(tenant=tenant)
    version = active_encoder_version(tenant=tenant)
    labelled = labelled_set(tenant=tenant, version=version)
    n_good = int(labelled.labels.sum())
    n_bad = len(labelled.labels) - n_good
    if n_good == 0 or n_bad == 0:
        logger.info("calibrate %s: %s good / %s bad labels, nothing to fit", tenant.slug, n_good, n_bad)
        return CalibrationReport(tenant, None, n_good, n_bad, threshold_for(tenant=tenant, version=version))
    fitted = fit_threshold(
        labelled.similarities, labelled.labels, max_false_accept_rate=policy.max_false_accept_rate, curve_points=100
    )
    fit = ThresholdFit.objects.create(
        tenant=tenant,
        encoder_version=version,
        target=policy.target,
        max_false_accept_rate=policy.max_false_accept_rate,
        n_labels=fitted.n_labels,
        n_good=n_good,
        n_bad=n_bad,
        sufficient=n_good >= MIN_LABELS_PER_CLASS and n_bad >= MIN_LABELS_PER_CLASS,
        threshold=fitted.threshold,
        precision=fitted.precision,
        recall=fitted.recall,
        f1=fitted.f1,
        false_accept_rate=fitted.false_accept_rate,
        curve=fitted.curve,
        opis_groups=opis(labelled.similarities, labelled.labels, labelled.groups).opis,
        labels_through=labelled.labels_through,
    )
    logger.info(
        "calibrate %s (%s): threshold %.4f from %s labels (%s good), precision %.3f recall %.3f, %s; "
        "OPIS across groups %s, across tenants %s",
        tenant.slug,
        version.name,
        fit.threshold,
        fit.n_labels,
        n_good,
        fit.precision,
        fit.recall,
        "in use" if fit.sufficient else f"global kept (< {MIN_LABELS_PER_CLASS} per class)",
        _fmt(fit.opis_groups),
        _fmt(across := cross_tenant_opis(version=version)),
    )
    return CalibrationReport(tenant, fit, n_good, n_bad, threshold_for(tenant=tenant, version=version), across)


def request_refit(*, tenant: Tenant) -> Job:
    """The one way an edge refits a tenant's threshold: a worker does it (encoding pairs and scanning every tenant's
    marks takes too long for a request); the Job carries its state and, at the end, what searches use now. A refit
    already waiting is returned instead of queueing a second."""
    waiting = Job.objects.filter(tenant=tenant, kind=Job.Type.CALIBRATION, status=Job.Status.QUEUED).first()
    if waiting is not None:
        return waiting
    job = Job.objects.create(tenant=tenant, kind=Job.Type.CALIBRATION, total=1)
    queue.send_on_commit(task_names.CALIBRATE_TENANT, tenant.id, job.id)
    return job


def run_refit_job(*, tenant: Tenant, job: Job) -> CalibrationReport | None:
    """The worker's half of request_refit; a job that already ran is left as it is."""
    if job.status in (Job.Status.DONE, Job.Status.FAILED):
        return None
    job.status = Job.Status.RUNNING
    job.save(update_fields=["status", "updated_at"])
    report = calibrate_tenant(tenant=tenant)
    job.status, job.done, job.finished_at = Job.Status.DONE, 1, timezone.now()
    job.message = refit_summary(report)
    job.save(update_fields=["status", "done", "finished_at", "message", "updated_at"])
    return report


def refit_summary(report: CalibrationReport) -> str:
    """What a refit did, in a recruiter's words (the job page and the calibration page show it)."""
    threshold = report.threshold
    used = "no threshold yet" if threshold is None else f"{threshold.value:.3f} ({threshold.source})"
    marks = f"{report.n_good} good / {report.n_bad} bad marks"
    if report.fit is None:
        return f"{marks}: nothing to fit yet; searches use {used}"
    kept = "in use" if report.fit.sufficient else f"not used yet (needs {MIN_LABELS_PER_CLASS} good and bad marks)"
    return f"fitted {report.fit.threshold:.3f} on {marks}, {kept}; searches use {used}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.5f}"


def refit_tenants_with_new_feedback() -> int:
    """Refit every tenant whose newest mark is newer than its last fit (the periodic task); returns how many."""
    refitted = 0
    for tenant in Tenant.objects.filter(active_encoder__isnull=False).select_related("active_encoder").order_by("id"):
        with tenant_scope(tenant.id):
            newest = Feedback.objects.filter(tenant=tenant).aggregate(newest=Max("marked_at"))["newest"]
            if newest is None:
                continue
            last = ThresholdFit.objects.filter(tenant=tenant, encoder_version=tenant.active_encoder).aggregate(
                through=Max("labels_through")
            )["through"]
            if last is None or newest > last:
                calibrate_tenant(tenant=tenant)
                refitted += 1
    return refitted
