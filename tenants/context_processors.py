from django.http import HttpRequest

from .services import tenants_of


def tenancy(request: HttpRequest) -> dict:
    """The tenants the user can switch to, and whether the admin links show."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    section = request.path.strip("/").split("/")[0]
    return {
        "switch_next": f"/{section}/" if section else "/",  # the same section in the other tenant, not the row
        "user_tenants": tenants_of(user=user),
        "is_tenant_admin": user.is_staff and getattr(request, "tenant_role", None) == "admin",
    }
