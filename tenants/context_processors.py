from django.http import HttpRequest

from .services import tenants_of

SECTIONS = {"vacancies", "candidates", "search", "import", "map", "calibration"}


def tenancy(request: HttpRequest) -> dict:
    """The tenants the user can switch to, and whether the admin links show."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    section = request.path.strip("/").split("/")[0]
    return {
        # The same page of the other tenant (a list, never a row of the one left); anything else: the dashboard.
        "switch_next": f"/{section}/" if section in SECTIONS else "/",
        "user_tenants": tenants_of(user=user),
        "is_tenant_admin": user.is_staff and getattr(request, "tenant_role", None) == "admin",
    }
