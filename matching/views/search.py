"""Free-text search: a recruiter's words, with the filters they imply shown as chips."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..errors import MatchingError
from ..forms import FilterForm, FreeTextForm
from ..models import Kind
from ..services import search
from ..services.free_text import parse_free_text
from .common import tenant_page

SEARCH_K = 20


@tenant_page
def free_text_search(request: HttpRequest) -> HttpResponse:
    # POST from the page (a long query does not fit a URL); GET still serves links such as ?q=nurse.
    params = request.POST if request.method == "POST" else request.GET
    form, filter_form = FreeTextForm(params or None), FilterForm(params)
    context = {"form": form, "filter_form": filter_form, "result": None, "parsed": None, "error": None}
    explicit = filter_form.search_filters()
    if not form.is_valid() or explicit is None:
        return render(request, "matching/search.html", context)
    kind = Kind(form.cleaned_data["kind"])
    parsed = parse_free_text(tenant=request.tenant, kind=kind, query=form.cleaned_data["q"])
    try:
        result = search(
            tenant=request.tenant, target=kind, text=parsed.text, filters=parsed.filters_with(explicit), k=SEARCH_K
        )
    except MatchingError as exc:
        context["error"] = exc.message
    else:
        context["result"] = result
    context |= {"parsed": parsed, "kind": kind}
    return render(request, "matching/search.html", context)
