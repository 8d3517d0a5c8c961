from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from jobmatch_site.generations import request_generations

from .models import Tenant
from .scoping import activate_cross_tenant, activate_tenant, request_scope
from .services import role_in, tenants_of

SESSION_TENANT_KEY = "tenant_id"


class TenantMiddleware:
    """Sets request.tenant from the logged-in user's chosen membership, and scopes the request to it.

    API-key requests get their tenant later, in DRF authentication; either way the scope ends with the request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant, request.tenant_role = None, None
        with request_scope(), request_generations():
            if request.user.is_authenticated:
                self._enter_session_tenant(request)
                if request.user.is_superuser and request.path.startswith(reverse("admin:index")):
                    # The one request-wide cross-tenant path: superusers in admin see every tenant's rows
                    # (TenantScopedAdmin), and RLS must let them; the rest of the site stays scoped.
                    activate_cross_tenant()
            return self.get_response(request)

    @staticmethod
    def _enter_session_tenant(request: HttpRequest) -> None:
        wanted = request.session.get(SESSION_TENANT_KEY)
        role = role_in(user=request.user, tenant_id=wanted) if wanted else None
        if role is None:  # no choice yet, or a membership that was removed since
            memberships = tenants_of(user=request.user)
            if not memberships:
                return
            wanted = memberships[0].id
            role = role_in(user=request.user, tenant_id=wanted)
            request.session[SESSION_TENANT_KEY] = wanted
        request.tenant, request.tenant_role = Tenant.objects.get(pk=wanted), role
        activate_tenant(wanted)
