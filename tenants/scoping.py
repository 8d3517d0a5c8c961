"""The current tenant, and the model base whose default queryset refuses to run without one."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

from .errors import TenantScopeError

_current_tenant_id: ContextVar[int | None] = ContextVar("current_tenant_id", default=None)


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[None]:
    """Run the block as tenant `tenant_id`; middleware, DRF auth, tasks and commands enter it."""
    token = _current_tenant_id.set(tenant_id)
    try:
        yield
    finally:
        _current_tenant_id.reset(token)


def activate_tenant(tenant_id: int | None) -> None:
    """Set the tenant for the rest of a request; TenantMiddleware restores the previous value afterwards."""
    _current_tenant_id.set(tenant_id)


class TenantManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        if (tenant_id := current_tenant_id()) is None:  # fail closed: a missing scope is a bug, not an empty result
            raise TenantScopeError(f"{self.model.__name__} queried outside tenant_scope()")
        return super().get_queryset().filter(tenant_id=tenant_id)


class TenantOwned(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, editable=False)
    objects = TenantManager()  # raw SQL skips it: write the tenant_id filter yourself
    unscoped = models.Manager()  # operator tools (superuser admin, sweeps) and migrations only

    class Meta:
        abstract = True
