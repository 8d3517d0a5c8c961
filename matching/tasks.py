"""Thin Celery wrappers: take ids, call one service. Tenant tasks run on TenantTask (tenants/tasks.py), which loads
the tenant and enters its scope; services queue these by name (task_names.py), never by importing this module."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from tenants.models import Tenant
from tenants.tasks import TenantTask

from . import task_names
from .models import EncoderVersion, Job, Kind
from .services.calibration import refit_tenants_with_new_feedback, run_refit_job
from .services.confidence import fit_confidence_calibrator, load_shipped_confidence
from .services.encoding import encode_records, encoder_for, sweep_unencoded
from .services.global_calibration import calibrate_global, ensure_global_calibrations, load_shipped_global_calibration
from .services.imports import run_import_job
from .services.normalization import fill_record_occupations
from .services.occupations import prepare_occupation_vectors
from .services.reindex import cross_tenant_resume_stalled_reindexes, reindex_step
from .services.talent_map import occupations
from .services.vector_indexes import cross_tenant_ensure_indexes, cross_tenant_retire_vectors

_RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,  # a worker killed mid-task hands the task back instead of dropping it
    "autoretry_for": (OperationalError, InterfaceError),  # the database restarting is worth waiting for
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 8,
}


@shared_task(name=task_names.ENCODE_RECORDS, base=TenantTask, **_RELIABLE)
def encode_records_task(tenant: Tenant, kind: str, record_ids: list[int], version_id: int | None = None) -> int:
    version = EncoderVersion.objects.get(pk=version_id) if version_id else None
    return encode_records(tenant=tenant, kind=Kind(kind), record_ids=record_ids, version=version)


@shared_task(**_RELIABLE)
def sweep_unencoded_task() -> int:
    cross_tenant_resume_stalled_reindexes()
    return sweep_unencoded()


@shared_task(name=task_names.REINDEX_STEP, base=TenantTask, bind=True, **_RELIABLE)
def reindex_step_task(self: TenantTask, tenant: Tenant, job_id: int, step: int) -> None:
    job = Job.objects.get(pk=job_id)
    if reindex_step(tenant=tenant, job=job, step=step) is False:
        # Queued before this task is acknowledged: a crash in between redelivers this step, whose stale step
        # number then makes it a no-op instead of a second chain.
        self.delay(tenant.id, job_id, step + 1)


@shared_task(name=task_names.CALIBRATE_GLOBAL, **_RELIABLE)
def calibrate_global_task(version_id: int) -> None:
    version = EncoderVersion.objects.get(pk=version_id)
    # Asked twice (two web processes): the first fit stands. A shipped fit of the same model is taken as it is.
    if not hasattr(version, "global_calibration") and load_shipped_global_calibration(version) is None:
        calibrate_global(version=version, titles=settings.GLOBAL_CALIBRATION_TITLES or None)


@shared_task(name=task_names.FIT_CONFIDENCE, **_RELIABLE)
def fit_confidence_task(version_id: int) -> None:
    version = EncoderVersion.objects.get(pk=version_id)
    # Asked twice: the first fit stands. A shipped fit of the same model is taken as it is.
    if not version.config.get("confidence") and load_shipped_confidence(version) is None:
        fit_confidence_calibrator(version=version, titles=settings.GLOBAL_CALIBRATION_TITLES or None)


@shared_task(name=task_names.CALIBRATE_TENANT, base=TenantTask, **_RELIABLE)
def calibrate_tenant_task(tenant: Tenant, job_id: int) -> None:
    run_refit_job(tenant=tenant, job=Job.objects.get(pk=job_id))


@shared_task(**_RELIABLE)
def refit_thresholds_task() -> int:
    """Periodic: fill in missing global thresholds, then refit tenants that received feedback since their last fit."""
    if settings.GLOBAL_CALIBRATION_AUTO:
        ensure_global_calibrations()
    return refit_tenants_with_new_feedback()


@shared_task(name=task_names.IMPORT_CSV, base=TenantTask, **_RELIABLE)
def import_csv_task(tenant: Tenant, job_id: int) -> None:
    run_import_job(tenant=tenant, job=Job.objects.get(pk=job_id))


@shared_task(name=task_names.PREPARE_TALENT_MAP, **_RELIABLE)
def prepare_talent_map_task(version_id: int) -> None:
    occupations(EncoderVersion.objects.get(pk=version_id))


@shared_task(name=task_names.PREPARE_OCCUPATIONS, **_RELIABLE)
def prepare_occupations_task(version_id: int) -> None:
    version = EncoderVersion.objects.get(pk=version_id)
    prepare_occupation_vectors(version=version, encoder=encoder_for(version))
    fill_record_occupations(version=version)  # rows encoded before the vectors existed get their occupations


@shared_task(name=task_names.PREPARE_ENCODER, **_RELIABLE)
def prepare_encoder_task(version_id: int) -> None:
    encoder_for(EncoderVersion.objects.get(pk=version_id))  # builds its ONNX export into ENCODER_CACHE_DIR


@shared_task(**_RELIABLE)
def ensure_indexes_task() -> int:
    """Periodic: delete the vectors of versions tenants left (after RETIRED_VECTORS_KEEP_S), then build the HNSW
    indexes that large tenants and versions lack (services/vector_indexes.py)."""
    cross_tenant_retire_vectors()
    return len(cross_tenant_ensure_indexes())
