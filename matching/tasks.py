"""Thin Celery wrappers: take ids, enter the tenant scope, call one service."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from tenants.models import Tenant
from tenants.scoping import tenant_scope

from .models import EncoderVersion, Job, Kind
from .services.calibration import calibrate_tenant, refit_tenants_with_new_feedback
from .services.encoding import encode_records, sweep_unencoded
from .services.global_calibration import (
    calibrate_global,
    ensure_global_calibrations,
    load_shipped_global_calibration,
)
from .services.imports import run_import_job
from .services.reindex import reindex_step, resume_stalled_reindexes
from .services.talent_map import occupations
from .services.vector_indexes import ensure_indexes, retire_vectors

_RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,  # a worker killed mid-task hands the task back instead of dropping it
    "autoretry_for": (OperationalError, InterfaceError),  # the database restarting is worth waiting for
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 8,
}


@shared_task(**_RELIABLE)
def encode_records_task(tenant_id: int, kind: str, record_ids: list[int], version_id: int | None = None) -> int:
    tenant = Tenant.objects.select_related("active_encoder").get(pk=tenant_id)
    version = EncoderVersion.objects.get(pk=version_id) if version_id else None
    with tenant_scope(tenant_id):
        return encode_records(tenant=tenant, kind=Kind(kind), record_ids=record_ids, version=version)


@shared_task(**_RELIABLE)
def sweep_unencoded_task() -> int:
    resume_stalled_reindexes()
    return sweep_unencoded()


@shared_task(**_RELIABLE)
def reindex_step_task(tenant_id: int, job_id: int, step: int) -> None:
    tenant = Tenant.objects.select_related("active_encoder").get(pk=tenant_id)
    with tenant_scope(tenant_id):
        job = Job.objects.get(pk=job_id)
        if reindex_step(tenant=tenant, job=job, step=step) is False:
            # Queued before this task is acknowledged: a crash in between redelivers this step, whose stale step
            # number then makes it a no-op instead of a second chain.
            reindex_step_task.delay(tenant_id, job_id, step + 1)


@shared_task(**_RELIABLE)
def calibrate_global_task(version_id: int) -> None:
    version = EncoderVersion.objects.get(pk=version_id)
    # Asked twice (two web processes): the first fit stands. A shipped fit of the same model is taken as it is.
    if not hasattr(version, "global_calibration") and load_shipped_global_calibration(version) is None:
        calibrate_global(version=version)


@shared_task(**_RELIABLE)
def calibrate_tenant_task(tenant_id: int) -> None:
    tenant = Tenant.objects.select_related("active_encoder").get(pk=tenant_id)
    with tenant_scope(tenant_id):
        calibrate_tenant(tenant=tenant)


@shared_task(**_RELIABLE)
def refit_thresholds_task() -> int:
    """Periodic: fill in missing global thresholds, then refit tenants that received feedback since their last fit."""
    if getattr(settings, "CALIBRATE_GLOBAL_ON_DEMAND", True):
        ensure_global_calibrations()
    return refit_tenants_with_new_feedback()


@shared_task(**_RELIABLE)
def import_csv_task(tenant_id: int, job_id: int) -> None:
    tenant = Tenant.objects.select_related("active_encoder").get(pk=tenant_id)
    with tenant_scope(tenant_id):
        run_import_job(tenant=tenant, job=Job.objects.get(pk=job_id))


@shared_task(**_RELIABLE)
def prepare_talent_map_task(version_id: int) -> None:
    occupations(EncoderVersion.objects.get(pk=version_id))


@shared_task(**_RELIABLE)
def ensure_indexes_task() -> int:
    """Periodic: delete the vectors of versions tenants left (after RETIRED_VECTORS_KEEP_S), then build the HNSW
    indexes that large tenants and versions lack (services/vector_indexes.py)."""
    retire_vectors()
    return len(ensure_indexes())
