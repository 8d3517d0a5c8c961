from jobmatch_site.errors import DomainError


class TenancyError(DomainError):
    """Any refusal from tenants/: unknown tenant, revoked key, a user outside the tenant."""


class TenantScopeError(RuntimeError):
    """A tenant-owned table was queried outside tenant_scope(): a bug, never a user error."""
