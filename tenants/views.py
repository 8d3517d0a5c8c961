"""The tenant switcher: a user in several tenants picks which one the session works in."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .middleware import SESSION_TENANT_KEY
from .services import role_in


@require_POST
@login_required
def switch_tenant(request: HttpRequest) -> HttpResponse:
    try:
        tenant_id = int(request.POST.get("tenant", ""))
    except ValueError:
        raise Http404("no such tenant") from None
    if role_in(user=request.user, tenant_id=tenant_id) is None:
        raise Http404("no such tenant")  # not a member: it reads like a tenant that does not exist
    request.session[SESSION_TENANT_KEY] = tenant_id
    back = request.POST.get("next", "")
    # Back to the same kind of page, never to a row of the tenant just left (that would be a 404 now).
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or back.count("/") > 2:
        back = "/"
    return redirect(back)
