"""The current tenant, and the model base whose default queryset refuses to run without one.

The scope lives in ContextVars; tenants/rls.py copies it into PostgreSQL (app.tenant_id, app.cross_tenant) before
every query, so row-level security enforces the same scope even where the ORM's filter is bypassed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

from .errors import TenantScopeError

_current_tenant_id: ContextVar[int | None] = ContextVar("current_tenant_id", default=None)
_cross_tenant: ContextVar[bool] = ContextVar("cross_tenant", default=False)


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


def is_cross_tenant() -> bool:
    return _cross_tenant.get()


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[None]:
    """Run the block as tenant `tenant_id` (and only it, even inside a cross-tenant block)."""
    token, cross = _current_tenant_id.set(tenant_id), _cross_tenant.set(False)
    try:
        yield
    finally:
        _cross_tenant.reset(cross)
        _current_tenant_id.reset(token)


@contextmanager
def cross_tenant_scope() -> Iterator[None]:
    """Every tenant's rows are visible to the block: superuser admin and the API-key lookup only.

    The explicit, reviewed exception to isolation; `git grep cross_tenant_scope` lists every use.
    """
    token, cross = _current_tenant_id.set(None), _cross_tenant.set(True)
    try:
        yield
    finally:
        _cross_tenant.reset(cross)
        _current_tenant_id.reset(token)


def activate_tenant(tenant_id: int | None) -> None:
    """Set the tenant for the rest of a request; TenantMiddleware restores the previous value afterwards."""
    _current_tenant_id.set(tenant_id)
    _cross_tenant.set(False)


def activate_cross_tenant() -> None:
    """Cross-tenant for the rest of a request (superuser admin); TenantMiddleware restores it afterwards."""
    _current_tenant_id.set(None)
    _cross_tenant.set(True)


class TenantManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        if (tenant_id := current_tenant_id()) is None:  # fail closed: a missing scope is a bug, not an empty result
            raise TenantScopeError(f"{self.model.__name__} queried outside tenant_scope()")
        return super().get_queryset().filter(tenant_id=tenant_id)


class TenantOwned(models.Model):
    """A row of one tenant: scoped by `objects`, and by row-level security in PostgreSQL (tenants/rls.py)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, editable=False)
    objects = TenantManager()  # raw SQL skips it: write the tenant_id filter yourself; RLS backs both
    unscoped = models.Manager()  # operator tools (superuser admin, key lookup) and migrations; RLS still applies

    class Meta:
        abstract = True
