"""Vacancies and candidates: lists with filters, forms, a row's page with its matches, feedback, CSV import."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..errors import MatchingError
from ..forms import FilterForm, ImportForm, RecordForm
from ..models import Feedback, Kind, Record
from ..selectors import feedback_marks, list_records
from ..services import create_record, delete_record, record_feedback, search, update_record
from ..services.imports import start_import
from ..services.normalization import stored_occupations
from .common import record_or_404, tenant_page

PAGE_SIZE = 25
MATCHES_K = 10


@tenant_page
def record_list(request: HttpRequest, kind: Kind) -> HttpResponse:
    form = FilterForm(request.GET)
    filters = form.search_filters()
    query = request.GET.get("q", "").strip()[:200]
    rows = None
    if filters:
        try:
            rows = list_records(tenant=request.tenant, kind=kind, filters=filters, query=query)
        except MatchingError as exc:
            form.add_error(None, exc.message)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")) if rows is not None else None
    context = {"kind": kind, "form": form, "q": query, "page": page, "querystring": _without_page(request)}
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
    form = RecordForm(request.POST or None, initial=RecordForm.initial_for(record) if record else None)
    if request.method == "POST" and (data := form.record_data()) is not None:
        try:
            if record is None:
                record = create_record(tenant=request.tenant, kind=kind, data=data)
            else:
                update_record(tenant=request.tenant, kind=kind, record=record, data=data, partial=False)
        except MatchingError as exc:
            form.add_service_error(exc)
        else:
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
    return render(request, "matching/record_detail.html", context)


@tenant_page
def record_matches(request: HttpRequest, kind: Kind, record_id: int) -> HttpResponse:
    record = record_or_404(request, kind, record_id)
    return render(
        request, "matching/_matches.html", {"kind": kind, "record": record} | _matches_context(request, kind, record)
    )


def _matches_context(request: HttpRequest, kind: Kind, record: Record) -> dict:
    form = FilterForm(request.GET)
    filters = form.search_filters()
    context = {"form": form, "result": None, "error": None, "query_kind": kind.singular, "target": kind.other}
    if filters is None:
        return context
    try:
        result = search(tenant=request.tenant, target=kind.other, record=record, filters=filters, k=MATCHES_K)
    except MatchingError as exc:
        return context | {"error": exc.message}
    return context | {"result": result, "hits": _with_feedback(request, kind, record, result.matches)}


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
        if label not in ("good", "bad"):
            raise MatchingError("label must be good or bad", field="label")
        record_feedback(
            tenant=request.tenant,
            vacancy=vacancy,
            candidate=candidate,
            good=label == "good",
            query=query,
            source=Feedback.Source.UI,
            user=request.user,
        )
    except MatchingError as exc:
        return render(request, "matching/_feedback.html", context | {"error": exc.message}, status=400)
    context["hit"]["label"] = label
    return render(request, "matching/_feedback.html", context)


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
