"""DRF authentication that establishes the tenant: API keys for integrations, the session for the browser."""

from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from .models import ApiKey, Membership
from .scoping import activate_tenant
from .services import cross_tenant_authenticate_api_key

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
        key = cross_tenant_authenticate_api_key(raw=header[len(self.keyword) + 1 :])
        if key is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        request._request.tenant = key.tenant
        request._request.tenant_scopes = set(key.scopes)
        activate_tenant(key.tenant_id)
        return (None, key)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


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
