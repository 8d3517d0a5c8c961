"""Free-text search: a recruiter's words, with the filters they imply shown as chips."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shortlists.selectors import pipeline_choices

from ..errors import MatchingError
from ..forms import FilterForm, FreeTextForm
from ..models import Kind, Vacancy
from ..selectors import feedback_marks, list_records
from ..services import search
from ..services.free_text import parse_free_text
from .common import record_or_404, tenant_page
from .records import with_shortlist

SEARCH_K = 20
MAX_VACANCY_CHOICES = 500  # the picker of "for vacancy"; a team with more types a narrower search


@tenant_page
def free_text_search(request: HttpRequest) -> HttpResponse:
    # POST from the page (a long query does not fit a URL); GET still serves links such as ?q=nurse.
    params = request.POST if request.method == "POST" else request.GET
    rows = list_records(tenant=request.tenant, kind=Kind.VACANCIES).order_by("title")[:MAX_VACANCY_CHOICES]
    vacancies = [(v.pk, f"{v.title} ({v.external_id})") for v in rows]
    form, filter_form = FreeTextForm(params or None, vacancies=vacancies), FilterForm(params)
    context = {"form": form, "filter_form": filter_form, "result": None, "parsed": None, "error": None}
    explicit = filter_form.search_filters()
    if not form.is_valid() or explicit is None:
        return render(request, "matching/search.html", context)
    kind = Kind(form.cleaned_data["kind"])
    for_vacancy = None
    if kind is Kind.CANDIDATES and form.cleaned_data.get("for_vacancy"):
        for_vacancy = record_or_404(request, Kind.VACANCIES, int(form.cleaned_data["for_vacancy"]))
    parsed = parse_free_text(tenant=request.tenant, kind=kind, query=form.cleaned_data["q"])
    try:
        result = search(
            tenant=request.tenant, target=kind, text=parsed.text, filters=parsed.filters_with(explicit), k=SEARCH_K
        )
    except MatchingError as exc:
        context["error"] = exc.message
    else:
        context["result"] = result
        if for_vacancy is not None:  # searching for a vacancy: its results can be marked and shortlisted
            hits = _for_vacancy(request, for_vacancy, result.matches)
            context |= {"hits": hits, "for_vacancy": for_vacancy, "statuses": pipeline_choices(tenant=request.tenant)}
    context |= {"parsed": parsed, "kind": kind}
    return render(request, "matching/search.html", context)


def _for_vacancy(request: HttpRequest, vacancy: Vacancy, matches: list) -> list[dict]:
    pairs = [(vacancy.pk, match.record.pk) for match in matches]
    marks = feedback_marks(tenant=request.tenant, pairs=pairs)
    hits = [
        {"match": m, "vacancy_id": v, "candidate_id": c, "label": marks.get((v, c)), "query": "vacancy"}
        for m, (v, c) in zip(matches, pairs, strict=True)
    ]
    return with_shortlist(request, vacancy, hits)
