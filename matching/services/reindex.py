"""Zero-downtime re-index: encode every row with a new encoder version, then switch the tenant atomically.

Search filters on the tenant's active version, so it serves the old vectors until the switch and the new ones
after it; no query ever compares vectors of two encoders. Work is done in short steps whose progress is derived
from the database (rows still lacking a current vector), so a step redelivered after a worker crash, or a job
resumed by the sweep, carries on where the data says it stands.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobmatch_site import queue
from tenants.models import Tenant
from tenants.scoping import cross_tenant_scope

from .. import task_names
from ..errors import MatchingError
from ..models import EncoderVersion, GlobalCalibration, Job, Kind
from .encoding import encode_records, stale_records
from .exclusions import exclusion_source
from .global_calibration import calibrate_global, load_shipped_global_calibration
from .vector_indexes import build_indexes, missing_before_switch

logger = logging.getLogger(__name__)

REINDEX_BATCH = 1024  # rows per step: ~15 s of 2 busy cores. Smaller steps pad more (encode sorts only its own
# rows by length) and pay the per-step queries more often: bench/reindex.py measured 79% of raw encode at 256.
STALLED_AFTER = timedelta(minutes=5)


def get_encoder_version(*, name: str) -> EncoderVersion:
    try:
        return EncoderVersion.objects.get(name=name)
    except EncoderVersion.DoesNotExist:
        raise MatchingError(f"unknown encoder version {name!r}", field="encoder", status=404) from None


def _remaining(tenant: Tenant, version: EncoderVersion) -> tuple[int, int]:
    total = sum(kind.record_model.objects.filter(tenant=tenant).count() for kind in Kind)
    stale = sum(stale_records(tenant=tenant, kind=kind, version=version).count() for kind in Kind)
    return total, stale


def start_reindex(*, tenant: Tenant, version: EncoderVersion) -> Job:
    """Queue a re-index job (a worker runs it step by step); refuses a second one while one runs."""
    job = _create_job(tenant=tenant, version=version)
    transaction.on_commit(lambda: _enqueue_step(job))
    return job


def _create_job(*, tenant: Tenant, version: EncoderVersion) -> Job:
    if tenant.active_encoder_id == version.id:
        raise MatchingError(f"{tenant.slug} already serves {version.name}", field="encoder", status=409)
    running = Job.objects.filter(
        tenant=tenant, kind=Job.Type.REINDEX, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    )
    if running.exists():
        raise MatchingError("a re-index is already running for this tenant", field="encoder", status=409)
    total, stale = _remaining(tenant, version)
    return Job.objects.create(
        tenant=tenant,
        kind=Job.Type.REINDEX,
        total=total,
        done=total - stale,
        params={"version_id": version.id, "version": version.name, "step": 0},
    )


def _enqueue_step(job: Job) -> None:
    queue.send(task_names.REINDEX_STEP, job.tenant_id, job.id, job.params["step"])


def reindex_step(*, tenant: Tenant, job: Job, step: int, batch_size: int = REINDEX_BATCH) -> bool | None:
    """Encode one batch, or switch when none is left. True: finished; False: more to do; None: a stale duplicate
    of a step that already ran (a redelivery after the next step was queued), which must not fork the chain."""
    if job.params.get("build_index") and job.params.get("step") == step:
        # Outside the transaction: a concurrent build lets the tenant's writes (and everyone else's) go on.
        version = EncoderVersion.objects.get(pk=job.params["version_id"])
        build_indexes(missing_before_switch(tenant_id=tenant.id, version=version))
    if job.params.get("calibrate") and job.params.get("step") == step:
        _fit_global_threshold(EncoderVersion.objects.get(pk=job.params["version_id"]))  # minutes: outside, too
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.params.get("step") != step or job.status in (Job.Status.DONE, Job.Status.FAILED):
            return None
        version = EncoderVersion.objects.get(pk=job.params["version_id"])
        for kind in Kind:
            ids = list(
                stale_records(tenant=tenant, kind=kind, version=version).values_list("pk", flat=True)[:batch_size]
            )
            if ids:
                encode_records(tenant=tenant, kind=kind, record_ids=ids, version=version)
                break
        else:
            if _needs_global_threshold(version):
                # Searches on the new version judge hits by its global threshold (until the tenant's own is fitted):
                # fitted before the switch, the first search after it already has one (the next step).
                job.params = job.params | {"step": step + 1, "calibrate": True}
                job.message = "fitting the new version's global threshold"
                job.save()
                return False
            if missing_before_switch(tenant_id=tenant.id, version=version):
                # A large tenant's own HNSW graph is built over the rows now written, in one pass instead of row by
                # row (vector_indexes.py); the switch waits for it (the next step).
                job.params = job.params | {"step": step + 1, "build_index": True}
                job.message = "building the search indexes"
                job.save()
                return False
            return _switch(tenant=tenant, job=job, version=version)
        # Progress by addition: recounting stale rows each step would cost O(rows) per step, O(rows²) per re-index.
        # Rows edited meanwhile are stale again and get a later step; the switch recounts exactly.
        job.total = sum(kind.record_model.objects.filter(tenant=tenant).count() for kind in Kind)
        job.done, job.status = min(job.done + len(ids), job.total), Job.Status.RUNNING
        job.params = job.params | {"step": step + 1}
        job.save()
    return False


def _needs_global_threshold(version: EncoderVersion) -> bool:
    # Off (GLOBAL_CALIBRATION_AUTO=0, the test suite): global thresholds are fitted by hand.
    return settings.GLOBAL_CALIBRATION_AUTO and not GlobalCalibration.objects.filter(encoder_version=version).exists()


def _fit_global_threshold(version: EncoderVersion) -> None:
    if _needs_global_threshold(version) and load_shipped_global_calibration(version) is None:
        calibrate_global(version=version, titles=settings.GLOBAL_CALIBRATION_TITLES or None)


def _switch(*, tenant: Tenant, job: Job, version: EncoderVersion) -> bool:
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)  # writers queue behind the switch
    total, stale = _remaining(locked, version)
    if stale:  # rows written since the last batch: one more step
        job.params = job.params | {"step": job.params["step"] + 1}
        job.save()
        return False
    # Rules keep firing from the first search on the new version (rules/ registers this; see exclusions.py).
    exclusion_source().prepare_version(tenant=locked, version=version)
    previous = locked.active_encoder
    locked.active_encoder = version
    locked.save(update_fields=["active_encoder"])
    job.total = job.done = total
    job.status, job.finished_at = Job.Status.DONE, timezone.now()
    job.message = f"switched from {previous} to {version.name}"
    job.save()
    tenant.active_encoder = version
    logger.info("tenant %s now serves %s (%s rows)", tenant.slug, version.name, total)
    return True


def run_reindex(*, tenant: Tenant, version: EncoderVersion, progress: Callable[[int, int], None] | None = None) -> Job:
    """The whole re-index in this process (the `reindex` command), through the same steps a worker takes."""
    job = _open_job(tenant, version) or _create_job(tenant=tenant, version=version)
    while True:
        job.refresh_from_db()
        finished = reindex_step(tenant=tenant, job=job, step=job.params["step"])
        job.refresh_from_db()
        if progress:
            progress(job.done, job.total)
        if finished:
            return job


def _open_job(tenant: Tenant, version: EncoderVersion) -> Job | None:
    """A re-index to the same version left unfinished (a crashed command or worker): resume it."""
    return Job.objects.filter(
        tenant=tenant,
        kind=Job.Type.REINDEX,
        params__version_id=version.id,
        status__in=[Job.Status.QUEUED, Job.Status.RUNNING],
    ).first()


def cross_tenant_resume_stalled_reindexes() -> int:
    """Re-queue the current step of jobs that made no progress for a while (a chain broken by a crash)."""
    with cross_tenant_scope():  # an operator path across tenants, explicit for row-level security too
        stalled = list(
            Job.unscoped.filter(
                kind=Job.Type.REINDEX,
                status__in=[Job.Status.QUEUED, Job.Status.RUNNING],
                updated_at__lt=timezone.now() - STALLED_AFTER,
            )
        )
    for job in stalled:
        _enqueue_step(job)
    return len(stalled)
