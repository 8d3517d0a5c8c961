"""The base of every task that works inside one tenant (pretix's EventTask is the model): it takes the tenant's id
as its first argument, loads the tenant, enters its scope and hands the task the Tenant itself."""

import logging

from celery import Task

from .models import Tenant
from .scoping import tenant_scope

logger = logging.getLogger(__name__)


class TenantTask(Task):
    abstract = True

    def __call__(self, tenant_id: int, *args: object, **kwargs: object) -> object:
        tenant = Tenant.objects.select_related("active_encoder").filter(pk=tenant_id).first()
        if tenant is None:  # deleted while the task waited in the queue: nothing of it is left to work on
            logger.info("%s: tenant %s no longer exists, nothing to do", self.name, tenant_id)
            return None
        with tenant_scope(tenant.id):
            return super().__call__(tenant, *args, **kwargs)
