"""Recruiter and integration feedback on (query, result) pairs: record, import, export, and labelled pairs."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from jobmatch_site.integrity import key_share_locked
from jobmatch_site.parsers import unstorable
from tenants.models import Tenant

from ..errors import MatchingError
from ..models import Candidate, Feedback, Vacancy

GROUP_FIELD = "occupation_group"  # a custom field naming the query's occupation group, for OPIS inside a tenant
LABELS = {"good": True, "bad": False, "1": True, "0": False, "true": True, "false": False}
EXPORT_COLUMNS = ["vacancy_external_id", "candidate_external_id", "query", "label", "source", "marked_by", "marked_at"]
MAX_IMPORT_ROWS = 100_000


@dataclass(frozen=True)
class LabelledPair:
    """One labelled pair for calibration and training: the query's text, the result's text, and the verdict."""

    vacancy_id: int
    candidate_id: int
    query_text: str
    result_text: str
    good: bool
    group: str  # the query's occupation group (custom field GROUP_FIELD), else the query itself
    marked_at: datetime


def parse_label(value: object, *, field: str = "label") -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in LABELS:
        return LABELS[value.strip().lower()]
    raise MatchingError("label must be good or bad", field=field)


@transaction.atomic
def record_feedback(
    *,
    tenant: Tenant,
    vacancy: Vacancy,
    candidate: Candidate,
    good: bool,
    query: str = "vacancy",
    source: str = Feedback.Source.API,
    user: object = None,
    api_key: object = None,
) -> tuple[Feedback, bool]:
    """Store a mark on the pair; a second mark on the same pair replaces the first. Returns (row, created)."""
    if vacancy.tenant_id != tenant.id or candidate.tenant_id != tenant.id:
        raise MatchingError("not found", status=404)  # another tenant's row answers like a missing one
    if query not in ("vacancy", "candidate"):
        raise MatchingError("query must be vacancy or candidate (the side that was searched)", field="query")
    # A pair deleted meanwhile answers like a missing one; a delete that comes later waits for this commit, and the
    # database cascades the mark with the row (migration 0010).
    pair = ((Vacancy, vacancy.pk), (Candidate, candidate.pk))
    if not all(key_share_locked(model, [pk], tenant_id=tenant.id) for model, pk in pair):
        raise MatchingError("not found", status=404)
    row, created = Feedback.objects.update_or_create(
        tenant=tenant,
        vacancy=vacancy,
        candidate=candidate,
        defaults={
            "label": Feedback.Label.GOOD if good else Feedback.Label.BAD,
            "query_kind": query,
            "source": source,
            "user": user if getattr(user, "is_authenticated", False) else None,
            "api_key": api_key,
        },
    )
    return row, created


def clear_feedback(*, tenant: Tenant, vacancy: Vacancy, candidate: Candidate) -> bool:
    """Remove the tenant's mark on the pair (a recruiter's change of mind); False when there was none."""
    if vacancy.tenant_id != tenant.id or candidate.tenant_id != tenant.id:
        raise MatchingError("not found", status=404)
    deleted, _ = Feedback.objects.filter(tenant=tenant, vacancy=vacancy, candidate=candidate).delete()
    return deleted > 0


def _by_external_id(model: type[Vacancy] | type[Candidate], tenant: Tenant, external_ids: set[str]) -> dict[str, int]:
    """Ids of the tenant's rows by external_id, locked like record_feedback's pair."""
    ids = dict(model.objects.filter(tenant=tenant, external_id__in=external_ids).values_list("external_id", "pk"))
    alive = key_share_locked(model, ids.values(), tenant_id=tenant.id)
    return {external_id: pk for external_id, pk in ids.items() if pk in alive}


@transaction.atomic
def import_feedback_csv(*, tenant: Tenant, data: bytes, user: object = None, api_key: object = None) -> int:
    """Upsert labelled pairs from CSV (vacancy_external_id, candidate_external_id, label[, query]); all or nothing.

    Returns how many rows were stored; the first bad row refuses the file with its line number.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MatchingError("the file is not UTF-8", field="file") from None
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise MatchingError(f"not a readable CSV: {exc}", field="file") from None
    if len(rows) > MAX_IMPORT_ROWS:
        raise MatchingError(f"at most {MAX_IMPORT_ROWS} rows per file", field="file")
    needed = {"vacancy_external_id", "candidate_external_id", "label"}
    if not rows or not needed <= set(rows[0]):
        raise MatchingError(f"the CSV needs the columns {', '.join(sorted(needed))}", field="file")
    for line, row in enumerate(rows, start=2):  # before the cells reach a query: PostgreSQL refuses a NUL there
        if why := next(filter(None, (unstorable(cell) for cell in row.values() if isinstance(cell, str))), None):
            raise MatchingError(f"line {line}: a cell {why}", field="file")
    vacancies = _by_external_id(Vacancy, tenant, {r["vacancy_external_id"] for r in rows})
    candidates = _by_external_id(Candidate, tenant, {r["candidate_external_id"] for r in rows})
    for line, row in enumerate(rows, start=2):
        try:
            good = parse_label(row["label"])
        except MatchingError:
            raise MatchingError(f"line {line}: label must be good or bad", field="file") from None
        vacancy_id = vacancies.get(row["vacancy_external_id"])
        candidate_id = candidates.get(row["candidate_external_id"])
        if vacancy_id is None or candidate_id is None:
            missing = "vacancy" if vacancy_id is None else "candidate"
            raise MatchingError(f"line {line}: unknown {missing} external_id", field="file")
        Feedback.objects.update_or_create(
            tenant=tenant,
            vacancy_id=vacancy_id,
            candidate_id=candidate_id,
            defaults={
                "label": Feedback.Label.GOOD if good else Feedback.Label.BAD,
                "query_kind": (row.get("query") or "vacancy").strip() or "vacancy",
                "source": Feedback.Source.CSV,
                "user": user if getattr(user, "is_authenticated", False) else None,
                "api_key": api_key,
            },
        )
    return len(rows)


def export_feedback_csv(*, tenant: Tenant) -> Iterator[str]:
    """The tenant's feedback as CSV lines, header first; the columns import_feedback_csv reads back.

    The rows are read now, inside the caller's tenant scope; a streaming response iterates after it ended.
    """
    rows = list(
        Feedback.objects.filter(tenant=tenant)
        .order_by("id")
        .values_list(
            "vacancy__external_id", "candidate__external_id", "query_kind", "label", "source",
            "user__username", "api_key__prefix", "marked_at",
        )
    )  # fmt: skip
    return _csv_lines(rows)


def _csv_lines(rows: list[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for vacancy, candidate, query, label, source, username, key_prefix, marked_at in rows:
        marked_by = username or (f"api-key:{key_prefix}" if key_prefix else "")
        writer.writerow([vacancy, candidate, query, label, source, marked_by, marked_at.isoformat()])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def labelled_pairs(*, tenant: Tenant) -> Iterator[LabelledPair]:
    """Every labelled pair of the tenant, oldest mark first: what calibration fits and training consumes."""
    rows = Feedback.objects.filter(tenant=tenant).select_related("vacancy", "candidate").order_by("marked_at", "id")
    for row in rows.iterator(chunk_size=2000):
        query, result = (row.vacancy, row.candidate) if row.query_kind == "vacancy" else (row.candidate, row.vacancy)
        group = query.custom_fields.get(GROUP_FIELD) if isinstance(query.custom_fields, dict) else None
        yield LabelledPair(
            vacancy_id=row.vacancy_id,
            candidate_id=row.candidate_id,
            query_text=query.text_for_encoding,
            result_text=result.text_for_encoding,
            good=row.label == Feedback.Label.GOOD,
            group=str(group) if group not in (None, "") else f"{row.query_kind}:{query.pk}",
            marked_at=row.marked_at,
        )
