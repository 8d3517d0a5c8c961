"""Reads of matching/ data; never writes. Another tenant's row reads exactly like a missing one."""

from django.db.models import Q, QuerySet

from tenants.models import Tenant

from .errors import MatchingError
from .models import Kind, Record
from .services.search import SearchFilters


def get_record(*, tenant: Tenant, kind: Kind, record_id: int | str) -> Record:
    try:
        return kind.record_model.objects.get(tenant=tenant, pk=int(record_id))
    except (kind.record_model.DoesNotExist, ValueError, TypeError):
        raise MatchingError(f"{kind.singular} {record_id} not found", status=404) from None


def get_record_by_external_id(*, tenant: Tenant, kind: Kind, external_id: str) -> Record:
    try:
        return kind.record_model.objects.get(tenant=tenant, external_id=external_id)
    except kind.record_model.DoesNotExist:
        raise MatchingError(
            f"no {kind.value} row with external_id {external_id!r}", field="external_id", status=404
        ) from None


def list_records(
    *, tenant: Tenant, kind: Kind, filters: SearchFilters | None = None, query: str = "", external_id: str = ""
) -> QuerySet:
    for name, value in (("q", query), ("external_id", external_id)):
        if "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse, don't 500
            raise MatchingError(f"{name} contains a NUL character", field=name)
    rows = kind.record_model.objects.filter(tenant=tenant)
    if filters is not None:
        rows = rows.filter(filters.as_q(prefix=""))
    if query:
        rows = rows.filter(Q(title__icontains=query) | Q(external_id=query))
    if external_id:
        rows = rows.filter(external_id=external_id)
    return rows.order_by("-id")


def list_feedback(*, tenant: Tenant) -> QuerySet:
    from .models import Feedback

    return Feedback.objects.filter(tenant=tenant).select_related("vacancy", "candidate", "user", "api_key")


def latest_threshold_fit(*, tenant: Tenant) -> object | None:
    from .models import ThresholdFit

    fits = ThresholdFit.objects.filter(tenant=tenant, encoder_version_id=tenant.active_encoder_id)
    return fits.order_by("-fitted_at", "-id").first()


def feedback_marks(*, tenant: Tenant, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The tenant's current mark ("good"/"bad") on each (vacancy id, candidate id) pair that has one."""
    from .models import Feedback

    rows = Feedback.objects.filter(
        tenant=tenant, vacancy_id__in=[v for v, _ in pairs], candidate_id__in=[c for _, c in pairs]
    ).values_list("vacancy_id", "candidate_id", "label")
    wanted = set(pairs)
    return {(v, c): label for v, c, label in rows if (v, c) in wanted}


def label_counts(*, tenant: Tenant) -> tuple[int, int]:
    """(good, bad) marks of the tenant."""
    from django.db.models import Count

    from .models import Feedback

    counts = Feedback.objects.filter(tenant=tenant).aggregate(
        good=Count("pk", filter=Q(label=Feedback.Label.GOOD)), bad=Count("pk", filter=Q(label=Feedback.Label.BAD))
    )
    return counts["good"], counts["bad"]
