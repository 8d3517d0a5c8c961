"""Vacancies and candidates: lists with filters, forms, a row's page with its matches, feedback, CSV import."""

import math

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from jobmatch_site.errors import DomainError
from shortlists.selectors import pipeline_choices, pipeline_labels, shortlists_of_candidate, statuses_of
from shortlists.services import add_to_shortlist

from ..errors import MatchingError
from ..forms import FilterForm, ImportForm, MatchFilterForm, RecordForm
from ..models import Feedback, Kind, Record
from ..selectors import feedback_marks, list_records
from ..services import (
    clear_feedback,
    create_record,
    delete_record,
    record_feedback,
    search,
    update_record,
    validate_record,
)
from ..services.imports import start_import
from ..services.normalization import stored_occupations
from ..services.search import MAX_K
from .common import record_or_404, tenant_page

PAGE_SIZE = 25
MAX_LIST_QUERY_CHARS = 200
LIST_SORTS = {"newest": "-id", "title": "title", "updated": "-updated_at", "external_id": "external_id"}
MATCH_SORTS = ("similarity", "distance", "title")
MATCHES_STEP = 10  # "show more" adds this many, up to the API's maximum k


@tenant_page
def record_list(request: HttpRequest, kind: Kind) -> HttpResponse:
    form = FilterForm(request.GET)
    filters = form.search_filters()
    query = request.GET.get("q", "").strip()
    if len(query) > MAX_LIST_QUERY_CHARS:  # said, never cut: a cut query would list the wrong rows without a word
        form.add_error(None, f"the title search takes up to {MAX_LIST_QUERY_CHARS} characters ({len(query)} given)")
        filters = None
    rows = None
    if filters:
        try:
            rows = list_records(tenant=request.tenant, kind=kind, filters=filters, query=query)
            rows = rows.order_by(LIST_SORTS.get(request.GET.get("sort", ""), "-id"), "-id")
        except MatchingError as exc:
            form.add_error(None, exc.message)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")) if rows is not None else None
    context = {"kind": kind, "form": form, "q": query, "page": page, "querystring": _without_page(request)}
    context |= {"sort": request.GET.get("sort") if request.GET.get("sort") in LIST_SORTS else "newest"}
    context["sort_choices"] = [("newest", "newest first"), ("updated", "recently updated"), ("title", "title"),
                               ("external_id", "external id")]  # fmt: skip
    template = "matching/_record_table.html" if request.htmx else "matching/record_list.html"
    return render(request, template, context)


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@tenant_page
def record_create(request: HttpRequest, kind: Kind) -> HttpResponse:
    return _record_form(request, kind, None)


@tenant_page
def record_edit(request: HttpRequest, kind: Kind, record_id: int) -> HttpResponse:
    return _record_form(request, kind, record_or_404(request, kind, record_id))


def _record_form(request: HttpRequest, kind: Kind, record: Record | None) -> HttpResponse:
    """One form for a new row and an edit; a refusal from the service lands on the field it names."""
    form = RecordForm(request.POST or None, initial=RecordForm.initial_for(record) if record else None, kind=kind)
    if request.method == "POST":
        data = form.record_data()
        try:
            if form.errors:  # the form's own refusals, and the service's on the other fields, all at once
                validate_record(tenant=request.tenant, kind=kind, data=data, record=record)
            elif record is None:
                record = create_record(tenant=request.tenant, kind=kind, data=data)
            else:
                update_record(tenant=request.tenant, kind=kind, record=record, data=data, partial=False)
        except MatchingError as exc:
            form.add_service_error(exc)
        if not form.errors:
            messages.success(request, f"{kind.singular.title()} {record.external_id} saved.")
            return redirect("record", kind=kind, record_id=record.pk)
    return render(request, "matching/record_form.html", {"kind": kind, "form": form, "record": record})


@tenant_page
def record_delete(request: HttpRequest, kind: Kind, record_id: int) -> HttpResponse:
    record = record_or_404(request, kind, record_id)
    if request.method == "POST":
        delete_record(tenant=request.tenant, record=record)
        messages.success(request, f"{kind.singular.title()} {record.external_id} deleted.")
        return redirect("records", kind=kind)
    return render(request, "matching/record_delete.html", {"kind": kind, "record": record})


@tenant_page
def record_detail(request: HttpRequest, kind: Kind, record_id: int) -> HttpResponse:
    record = record_or_404(request, kind, record_id)
    context = {"kind": kind, "record": record, "occupations": stored_occupations(record=record) or []}
    context |= _matches_context(request, kind, record)
    if kind is Kind.CANDIDATES:
        context["on_shortlists"] = shortlists_of_candidate(tenant=request.tenant, candidate_id=record.pk)
    return render(request, "matching/record_detail.html", context)


@tenant_page
def record_matches(request: HttpRequest, kind: Kind, record_id: int) -> HttpResponse:
    record = record_or_404(request, kind, record_id)
    return render(
        request, "matching/_matches.html", {"kind": kind, "record": record} | _matches_context(request, kind, record)
    )


def _matches_context(request: HttpRequest, kind: Kind, record: Record) -> dict:
    form = MatchFilterForm(request.GET)
    filters = form.search_filters()
    k = min(max(_int(request.GET.get("k")) or MATCHES_STEP, MATCHES_STEP), MAX_K)
    sort = request.GET.get("sort") if request.GET.get("sort") in MATCH_SORTS else "similarity"
    context = {"form": form, "result": None, "error": None, "query_kind": kind.singular, "target": kind.other}
    context |= {"k": k, "more_k": min(k + MATCHES_STEP, MAX_K), "sort": sort, "sorts": MATCH_SORTS}
    if filters is None:
        return context
    mode = form.cleaned_data.get("requirements") or None
    try:
        result = search(
            tenant=request.tenant, target=kind.other, record=record, filters=filters, k=k, requirements=mode
        )
    except MatchingError as exc:
        return context | {"error": exc.message}
    hits = _sorted(_with_feedback(request, kind, record, result.matches), sort=sort, origin=record)
    context["has_more"] = len(hits) == k and k < MAX_K
    if kind is Kind.VACANCIES:  # the vacancy's match list: select candidates for its shortlist, see who is on it
        hits = with_shortlist(request, record, hits)
        context |= {"select": True, "statuses": pipeline_choices(tenant=request.tenant)}
    return context | {"result": result, "hits": hits}


def with_shortlist(request: HttpRequest, vacancy: Record, hits: list[dict]) -> list[dict]:
    """Each hit with its candidate's status on the vacancy's shortlist (None when not on it), and its team label."""
    on_list = statuses_of(tenant=request.tenant, vacancy=vacancy, candidate_ids=[h["candidate_id"] for h in hits])
    labels = pipeline_labels(tenant=request.tenant)
    statuses = [on_list.get(hit["candidate_id"]) for hit in hits]
    return [hit | {"shortlist": s, "shortlist_label": labels.get(s)} for hit, s in zip(hits, statuses, strict=True)]


def _km(a: Record, b: Record) -> float | None:
    """Great-circle distance in km, or None when either lacks coordinates."""
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _sorted(hits: list[dict], *, sort: str, origin: Record) -> list[dict]:
    """The search's own order is by similarity; distance puts rows without coordinates last."""
    for hit in hits:
        hit["km"] = _km(origin, hit["match"].record)
    if sort == "distance":
        return sorted(hits, key=lambda h: (h["km"] is None, h["km"] or 0.0))
    if sort == "title":
        return sorted(hits, key=lambda h: h["match"].record.title.casefold())
    return hits


def _with_feedback(request: HttpRequest, kind: Kind, record: Record, matches: list) -> list[dict]:
    """Each hit with the tenant's current mark on its (vacancy, candidate) pair, for the feedback buttons."""
    pairs = [_pair(kind, record.pk, match.record.pk) for match in matches]
    marks = feedback_marks(tenant=request.tenant, pairs=pairs)
    return [
        {"match": match, "vacancy_id": v, "candidate_id": c, "label": marks.get((v, c)), "query": kind.singular}
        for match, (v, c) in zip(matches, pairs, strict=True)
    ]


def _pair(kind: Kind, query_id: int, hit_id: int) -> tuple[int, int]:
    return (query_id, hit_id) if kind is Kind.VACANCIES else (hit_id, query_id)


@require_POST
@tenant_page
def feedback(request: HttpRequest) -> HttpResponse:
    vacancy = record_or_404(request, Kind.VACANCIES, _int(request.POST.get("vacancy_id")))
    candidate = record_or_404(request, Kind.CANDIDATES, _int(request.POST.get("candidate_id")))
    query = request.POST.get("query", "vacancy")
    label = request.POST.get("label", "")
    context = {"hit": {"vacancy_id": vacancy.pk, "candidate_id": candidate.pk, "query": query, "label": None}}
    try:
        if label not in ("good", "bad", "clear"):
            raise MatchingError("label must be good, bad or clear", field="label")
        if label == "clear":
            clear_feedback(tenant=request.tenant, vacancy=vacancy, candidate=candidate)
            return _marked(request, context, vacancy)
        with transaction.atomic():
            record_feedback(
                tenant=request.tenant,
                vacancy=vacancy,
                candidate=candidate,
                good=label == "good",
                query=query,
                source=Feedback.Source.UI,
                user=request.user,
            )
            if label == "good":  # a good match is one to act on; a bad mark stays feedback only
                add_to_shortlist(
                    tenant=request.tenant, vacancy=vacancy, candidate_ids=[candidate.pk], user=request.user
                )
                context["shortlisted"] = True
    except DomainError as exc:  # matching's refusals and the shortlist's alike
        return render(request, "matching/_feedback.html", context | {"error": exc.message}, status=400)
    context["hit"]["label"] = label
    return _marked(request, context, vacancy)


def _marked(request: HttpRequest, context: dict, vacancy: Record) -> HttpResponse:
    """htmx swaps the buttons in place; a plain form post (no script, or a click before htmx bound a freshly
    swapped form) goes back to the page it came from, which shows the mark as stored."""
    if request.htmx:
        return render(request, "matching/_feedback.html", context)
    back = request.headers.get("referer", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("record", args=[Kind.VACANCIES, vacancy.pk])
    return redirect(back)


def _int(value: object) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@tenant_page
def import_csv_page(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = start_import(
                tenant=request.tenant, kind=Kind(form.cleaned_data["kind"]), raw=upload.read(), filename=upload.name
            )
        except MatchingError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("job", job_id=job.pk)
    return render(request, "matching/import.html", {"form": form})
