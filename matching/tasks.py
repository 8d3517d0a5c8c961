"""Thin Celery wrappers: take ids, enter the tenant scope, call one service."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from tenants.models import Tenant
from tenants.scoping import tenant_scope

from .models import EncoderVersion, Job, Kind
from .services.encoding import encode_records, sweep_unencoded
from .services.reindex import reindex_step, resume_stalled_reindexes

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
