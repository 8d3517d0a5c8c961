"""Reading shortlists: a vacancy's entries, one entry, the team's counts by status, the team's step labels."""

from django.db.models import Count, QuerySet

from matching.models import Vacancy
from tenants.models import Tenant

from .errors import ShortlistError
from .models import PipelineLabel, ShortlistEntry


def shortlist_of(*, tenant: Tenant, vacancy: Vacancy, status: str = "") -> list[ShortlistEntry]:
    """The vacancy's entries, pipeline order then newest first, each with the team's `status_label`."""
    rows = ShortlistEntry.objects.filter(tenant=tenant, vacancy=vacancy).select_related("candidate", "added_by")
    if status:
        rows = rows.filter(status=status)
    order = list(ShortlistEntry.Status.values)
    ordered = sorted(rows, key=lambda e: (order.index(e.status), -e.updated_at.timestamp()))
    return with_labels(tenant=tenant, entries=ordered)


def get_entry(*, tenant: Tenant, entry_id: int) -> ShortlistEntry:
    entry = ShortlistEntry.objects.filter(tenant=tenant, pk=entry_id).select_related("vacancy", "candidate").first()
    if entry is None:
        raise ShortlistError(f"shortlist entry {entry_id} not found", status=404)  # another tenant's reads the same
    return entry


def list_entries(*, tenant: Tenant, vacancy_id: int | None = None, status: str = "") -> QuerySet[ShortlistEntry]:
    rows = ShortlistEntry.objects.filter(tenant=tenant).select_related("vacancy", "candidate").order_by("-updated_at")
    if vacancy_id is not None:
        rows = rows.filter(vacancy_id=vacancy_id)
    return rows.filter(status=status) if status else rows


def statuses_of(*, tenant: Tenant, vacancy: Vacancy, candidate_ids: list[int]) -> dict[int, str]:
    """candidate id -> its status on the vacancy's shortlist, for the ones on it."""
    rows = ShortlistEntry.objects.filter(tenant=tenant, vacancy=vacancy, candidate_id__in=candidate_ids)
    return dict(rows.values_list("candidate_id", "status"))


def status_counts(*, tenant: Tenant) -> dict[str, int]:
    """Entries across the team's shortlists by status, every status present (zero included)."""
    counts = dict(ShortlistEntry.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in ShortlistEntry.Status.values}


def shortlists_of_candidate(*, tenant: Tenant, candidate_id: int) -> list[ShortlistEntry]:
    """The shortlists a candidate is on, newest change first, for the candidate's page."""
    rows = ShortlistEntry.objects.filter(tenant=tenant, candidate_id=candidate_id).select_related("vacancy")
    return with_labels(tenant=tenant, entries=list(rows.order_by("-updated_at")))


def pipeline_labels(*, tenant: Tenant) -> dict[str, str]:
    """status key -> the team's word for it, every step in pipeline order (the default where the team has none)."""
    own = dict(PipelineLabel.objects.filter(tenant=tenant).values_list("status", "label"))
    return {value: own.get(value, default) for value, default in ShortlistEntry.Status.choices}


def pipeline_choices(*, tenant: Tenant) -> list[tuple[str, str]]:
    """(key, the team's label) per step, in pipeline order: what a status picker offers."""
    return list(pipeline_labels(tenant=tenant).items())


def with_labels(*, tenant: Tenant, entries: list[ShortlistEntry]) -> list[ShortlistEntry]:
    """The entries, each with `status_label`: the team's word for its status, for pages and exports."""
    labels = pipeline_labels(tenant=tenant)
    for entry in entries:
        entry.status_label = labels[entry.status]
    return entries
