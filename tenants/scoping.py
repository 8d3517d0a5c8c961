"""The current tenant, and the model base whose default queryset refuses to run without one.

The scope lives in ContextVars; tenants/rls.py copies it into PostgreSQL (app.tenant_id, app.cross_tenant) before
every query, so row-level security enforces the same scope even where the ORM's filter is bypassed. Only this
module touches the ContextVars: middleware, DRF authentication, tasks (tenants/tasks.py) and commands enter a
scope through the functions below.

The reviewed cross-tenant paths, all of them (`git grep -n "cross_tenant_"` finds each by its name):
- superuser requests in Django admin: TenantMiddleware calls `activate_cross_tenant()` (tenants/middleware.py);
- the API-key lookup by its prefix, before its tenant is known: `cross_tenant_authenticate_api_key`
  (tenants/services.py);
- OPIS across tenants, an operator figure stored on the version's global calibration: `cross_tenant_opis`
  (matching/services/calibration.py);
- resuming re-index chains a crash broke: `cross_tenant_resume_stalled_reindexes` (matching/services/reindex.py);
- building HNSW graphs and retiring old vectors: `cross_tenant_ensure_indexes`, `cross_tenant_retired_vectors`,
  `cross_tenant_retire_vectors` (matching/services/vector_indexes.py).
Periodic tasks that visit tenants one at a time (the sweep, the refit) enter each tenant's own scope instead.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
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
def _scope(tenant_id: int | None, *, cross: bool) -> Iterator[None]:
    tokens = _current_tenant_id.set(tenant_id), _cross_tenant.set(cross)
    try:
        yield
    finally:
        _cross_tenant.reset(tokens[1])
        _current_tenant_id.reset(tokens[0])


def tenant_scope(tenant_id: int) -> AbstractContextManager[None]:
    """Run the block as tenant `tenant_id` (and only it, even inside a cross-tenant block)."""
    return _scope(tenant_id, cross=False)


def cross_tenant_scope() -> AbstractContextManager[None]:
    """Every tenant's rows are visible to the block: the reviewed paths listed at the top of this module only."""
    return _scope(None, cross=True)


def request_scope() -> AbstractContextManager[None]:
    """A request's scope: no tenant until activate_tenant() is called inside it; the previous scope comes back after."""
    return _scope(None, cross=False)


def activate_tenant(tenant_id: int | None) -> None:
    """Set the tenant for the rest of a request (inside request_scope(), which restores the previous one)."""
    _current_tenant_id.set(tenant_id)
    _cross_tenant.set(False)


def activate_cross_tenant() -> None:
    """Cross-tenant for the rest of a request (superuser admin), inside request_scope()."""
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
