"""What every recruiter page shares: it needs a login and a tenant, and another tenant's row is a plain 404."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ..errors import MatchingError
from ..models import Kind, Record
from ..selectors import get_record


def tenant_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.tenant is None:
            return render(request, "matching/no_tenant.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def record_or_404(request: HttpRequest, kind: Kind, record_id: int) -> Record:
    try:
        return get_record(tenant=request.tenant, kind=kind, record_id=record_id)
    except MatchingError:
        raise Http404(f"no such {kind.singular}") from None


class KindConverter:
    regex = "vacancies|candidates"

    def to_python(self, value: str) -> Kind:
        return Kind(value)

    def to_url(self, value: Kind | str) -> str:
        return Kind(value).value
