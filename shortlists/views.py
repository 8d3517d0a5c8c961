"""A vacancy's shortlist: the pipeline, a note per candidate, bulk actions from the match list, CSV export; the
tenant admin's names for the pipeline's steps."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from matching.models import Kind
from matching.views.common import record_or_404, tenant_page

from .errors import ShortlistError
from .forms import PipelineLabelsForm
from .models import ShortlistEntry
from .selectors import get_entry, pipeline_choices, pipeline_labels, shortlist_of, with_labels
from .services import (
    add_to_shortlist,
    export_shortlist_csv,
    move_on_shortlist,
    remove_from_shortlist,
    set_pipeline_labels,
    update_entry,
)

STATUSES = ShortlistEntry.Status


@tenant_page
def shortlist_page(request: HttpRequest, vacancy_id: int) -> HttpResponse:
    vacancy = record_or_404(request, Kind.VACANCIES, vacancy_id)
    status = request.GET.get("status", "")
    entries = shortlist_of(tenant=request.tenant, vacancy=vacancy, status=status if status in STATUSES.values else "")
    counts = {s: 0 for s in STATUSES.values}
    for entry in shortlist_of(tenant=request.tenant, vacancy=vacancy):
        counts[entry.status] += 1
    choices = pipeline_choices(tenant=request.tenant)
    pipeline = [(value, label, counts[value]) for value, label in choices]
    context = {"vacancy": vacancy, "entries": entries, "statuses": choices, "pipeline": pipeline}
    context |= {"status": status, "status_label": dict(choices).get(status, "")}
    return render(request, "shortlists/shortlist.html", context)


def _ids(request: HttpRequest) -> list[int]:
    ids = []
    for raw in request.POST.getlist("candidate_ids"):
        try:
            ids.append(int(raw))
        except ValueError:
            raise ShortlistError(f"candidate id {raw[:20]!r} is not a number", field="candidate_ids") from None
    return ids


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return target if target.startswith("/") and safe else fallback


@require_POST
@tenant_page
def shortlist_bulk(request: HttpRequest, vacancy_id: int) -> HttpResponse:
    """One action on the selected candidates: add (at a status), move to a status, or remove."""
    vacancy = record_or_404(request, Kind.VACANCIES, vacancy_id)
    action = request.POST.get("action", "")
    back = _back(request, f"/vacancies/{vacancy.pk}/shortlist/")
    try:
        ids = _ids(request)
        if action == "add":
            added = add_to_shortlist(
                tenant=request.tenant, vacancy=vacancy, candidate_ids=ids,
                status=request.POST.get("status") or STATUSES.SHORTLISTED, user=request.user,
            )  # fmt: skip
            messages.success(request, f"{_n(len(added))} on the shortlist of {vacancy.title}.")
        elif action == "move":
            status = request.POST.get("status", "")
            moved = move_on_shortlist(tenant=request.tenant, vacancy=vacancy, candidate_ids=ids, status=status)
            messages.success(request, f"{_n(moved)} moved to {pipeline_labels(tenant=request.tenant)[status]}.")
        elif action == "remove":
            removed = remove_from_shortlist(tenant=request.tenant, vacancy=vacancy, candidate_ids=ids)
            messages.success(request, f"{_n(removed)} removed from the shortlist.")
        else:
            raise ShortlistError("choose what to do with the selected candidates", field="action")
    except ShortlistError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        context = {"detail": exc.message, "field": exc.field, "back": back}
        return render(request, "400.html", context, status=400)  # the page says what to fix and links back
    return redirect(back)


def _n(count: int) -> str:
    return f"{count} candidate{'s' if count != 1 else ''}"


@require_POST
@tenant_page
def shortlist_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Change an entry's status or note (htmx swaps the row); remove it with action=remove."""
    try:
        entry = get_entry(tenant=request.tenant, entry_id=entry_id)
    except ShortlistError:
        raise Http404("no such shortlist entry") from None
    error = None
    if request.POST.get("action") == "remove":
        remove_from_shortlist(tenant=request.tenant, vacancy=entry.vacancy, candidate_ids=[entry.candidate_id])
        if request.htmx:
            return HttpResponse("")
        return redirect("shortlist", vacancy_id=entry.vacancy_id)
    data = {name: request.POST[name] for name in ("status", "note") if name in request.POST}
    try:
        update_entry(tenant=request.tenant, entry=entry, data=data)
    except ShortlistError as exc:
        error = exc
    if not request.htmx:
        if error:
            messages.error(request, error.message)
        return redirect("shortlist", vacancy_id=entry.vacancy_id)
    with_labels(tenant=request.tenant, entries=[entry])
    context = {"entry": entry, "statuses": pipeline_choices(tenant=request.tenant), "error": error}
    context["saved"] = error is None
    return render(request, "shortlists/_entry.html", context, status=400 if error else 200)


@tenant_page
def shortlist_csv(request: HttpRequest, vacancy_id: int) -> HttpResponse:
    vacancy = record_or_404(request, Kind.VACANCIES, vacancy_id)
    entries = shortlist_of(tenant=request.tenant, vacancy=vacancy)
    body = export_shortlist_csv(tenant=request.tenant, vacancy=vacancy, entries=entries)
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in vacancy.external_id)[:60] or "vacancy"
    return HttpResponse(
        body,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="shortlist-{name}.csv"'},
    )


@tenant_page
def pipeline_labels_page(request: HttpRequest) -> HttpResponse:
    """The team's names for the pipeline's steps: tenant admins only (the keys stay; pages and exports show these)."""
    if request.tenant_role != "admin":
        return render(request, "403.html", status=403)
    current = pipeline_labels(tenant=request.tenant)
    initial = {f"label_{status}": label for status, label in current.items()}
    form = PipelineLabelsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            set_pipeline_labels(tenant=request.tenant, labels=form.labels())
        except ShortlistError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, "Saved: pages and exports now use these names.")
            return redirect("pipeline-labels")
    return render(request, "shortlists/pipeline_labels.html", {"form": form})
