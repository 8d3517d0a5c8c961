"""DRF authentication that establishes the tenant: API keys for integrations, the session for the browser."""

from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from .credentials import Limit, lookup_and_count, tenant_of
from .credentials import touch as touch_key
from .models import ApiKey, Membership
from .scoping import activate_tenant
from .services import cross_tenant_authenticate_api_key, split_api_key

ROLE_SCOPES = {
    Membership.Role.ADMIN: {"read", "write", "search", "admin"},
    Membership.Role.RECRUITER: {"read", "write", "search"},
}


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key jm_<prefix>_<secret>`; the key's tenant becomes the request's tenant."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[None, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{self.keyword} "):
            return None
        raw = header[len(self.keyword) + 1 :]
        split = split_api_key(raw)
        if split is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        # One Redis call finds the key, reads its tenant's generations and counts the view's rate limits.
        limits = _limits(request)
        key, verdicts, touch = lookup_and_count(
            prefix=split[0],
            secret_hash=split[1],
            limits=limits,
            load=lambda: cross_tenant_authenticate_api_key(raw=raw),
        )
        if key is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        if touch:
            touch_key(key)
        key.tenant = tenant_of(key.tenant_id)
        request._request.tenant = key.tenant
        request._request.tenant_scopes = set(key.scopes)
        request._request.rate_verdicts = verdicts or {}
        activate_tenant(key.tenant_id)
        return (None, key)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def _limits(request: Request) -> list[Limit]:
    """The rate limits of the view this request is for (tenants/throttling.py), counted with the key lookup."""
    from .throttling import CredentialRateThrottle

    view = (request.parser_context or {}).get("view")
    throttles = view.get_throttles() if view is not None else []
    return [t.limit for t in throttles if isinstance(t, CredentialRateThrottle) and t.limit is not None]


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """The browser's session; TenantMiddleware has already chosen the tenant from the user's memberships."""

    def authenticate(self, request: Request) -> tuple | None:
        result = super().authenticate(request)
        if result is not None:
            request._request.tenant_scopes = ROLE_SCOPES.get(getattr(request._request, "tenant_role", None), set())
        return result


class HasTenant(permissions.BasePermission):
    """A tenant is established and the credentials carry the scope this view needs for this method."""

    message = "credentials for a tenant are required"

    def has_permission(self, request: Request, view: object) -> bool:
        if getattr(request._request, "tenant", None) is None:
            return False
        needed = getattr(view, "required_scope", None) or (
            "read" if request.method in permissions.SAFE_METHODS else "write"
        )
        if needed not in getattr(request._request, "tenant_scopes", set()):
            self.message = f"this key lacks the {needed!r} scope"
            return False
        return True
