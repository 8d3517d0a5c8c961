"""Shortlists: add candidates to a vacancy's shortlist, move them through the pipeline, note, remove, export."""

import csv
import io
from collections.abc import Collection

from django.db import transaction

from jobmatch_site.integrity import key_share_locked
from matching.models import Candidate, Vacancy
from tenants.models import Tenant

from .errors import ShortlistError
from .models import ShortlistEntry

MAX_NOTE_CHARS = 2000
MAX_BULK = 200  # a match list shows at most the API's maximum k; more in one request is a mistake
EXPORT_COLUMNS = [
    "vacancy_external_id", "vacancy_title", "candidate_external_id", "candidate_title", "display_name", "contact",
    "status", "note", "added_by", "updated_at",
]  # fmt: skip


def clean_status(value: object, *, field: str = "status") -> str:
    if value not in ShortlistEntry.Status.values:
        raise ShortlistError(f"status must be one of {', '.join(ShortlistEntry.Status.values)}", field=field)
    return value


def clean_note(value: object, *, field: str = "note") -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ShortlistError("note must be a string", field=field)
    if "\x00" in value:
        raise ShortlistError("note contains a NUL character", field=field)
    if len(value.strip()) > MAX_NOTE_CHARS:
        raise ShortlistError(f"note is longer than {MAX_NOTE_CHARS} characters ({len(value.strip())})", field=field)
    return value.strip()


def _own_candidates(*, tenant: Tenant, vacancy: Vacancy, candidate_ids: Collection[int]) -> list[int]:
    """The ids, all of them the tenant's and still there (locked until commit, so a delete waits), else a 404."""
    if vacancy.tenant_id != tenant.id:
        raise ShortlistError("vacancy not found", status=404)
    ids = sorted(set(candidate_ids))
    if not ids:
        raise ShortlistError("select at least one candidate", field="candidate_ids")
    if len(ids) > MAX_BULK:
        raise ShortlistError(f"at most {MAX_BULK} candidates at once ({len(ids)} given)", field="candidate_ids")
    if not key_share_locked(Vacancy, [vacancy.pk], tenant_id=tenant.id):
        raise ShortlistError("vacancy not found", status=404)
    found = key_share_locked(Candidate, ids, tenant_id=tenant.id)
    if missing := [i for i in ids if i not in found]:
        raise ShortlistError(f"candidate {missing[0]} not found", field="candidate_ids", status=404)
    return ids


@transaction.atomic
def add_to_shortlist(
    *,
    tenant: Tenant,
    vacancy: Vacancy,
    candidate_ids: Collection[int],
    status: str = ShortlistEntry.Status.SHORTLISTED,
    note: str = "",
    user: object = None,
) -> list[ShortlistEntry]:
    """Put candidates on the vacancy's shortlist; one already on it keeps its status and note (adding is not moving)."""
    status, note = clean_status(status), clean_note(note)
    ids = _own_candidates(tenant=tenant, vacancy=vacancy, candidate_ids=candidate_ids)
    user = user if getattr(user, "is_authenticated", False) else None
    ShortlistEntry.objects.bulk_create(
        [
            ShortlistEntry(tenant=tenant, vacancy=vacancy, candidate_id=i, status=status, note=note, added_by=user)
            for i in ids
        ],
        ignore_conflicts=True,  # ON CONFLICT DO NOTHING on the pair: a double click adds once
    )
    return list(ShortlistEntry.objects.filter(tenant=tenant, vacancy=vacancy, candidate_id__in=ids))


@transaction.atomic
def move_on_shortlist(*, tenant: Tenant, vacancy: Vacancy, candidate_ids: Collection[int], status: str) -> int:
    """Set the status of those of the candidates that are on the vacancy's shortlist; how many moved."""
    status = clean_status(status)
    ids = _own_candidates(tenant=tenant, vacancy=vacancy, candidate_ids=candidate_ids)
    rows = ShortlistEntry.objects.filter(tenant=tenant, vacancy=vacancy, candidate_id__in=ids)
    return rows.update(status=status)


@transaction.atomic
def remove_from_shortlist(*, tenant: Tenant, vacancy: Vacancy, candidate_ids: Collection[int]) -> int:
    ids = _own_candidates(tenant=tenant, vacancy=vacancy, candidate_ids=candidate_ids)
    deleted, _ = ShortlistEntry.objects.filter(tenant=tenant, vacancy=vacancy, candidate_id__in=ids).delete()
    return deleted


def update_entry(*, tenant: Tenant, entry: ShortlistEntry, data: dict) -> ShortlistEntry:
    """Change an entry's status and/or note; every bad field is named at once."""
    if entry.tenant_id != tenant.id:
        raise ShortlistError("shortlist entry not found", status=404)
    if unknown := sorted(set(data) - {"status", "note"}):
        raise ShortlistError(f"unknown field {unknown[0]!r}", field=unknown[0])
    errors, values = [], {}
    for name, clean in (("status", clean_status), ("note", clean_note)):
        if name in data:
            try:
                values[name] = clean(data[name])
            except ShortlistError as exc:
                errors.append(exc)
    if errors:
        details = [{"field": e.field, "detail": e.message} for e in errors]
        raise ShortlistError(errors[0].message, field=errors[0].field, errors=details)
    for name, value in values.items():
        setattr(entry, name, value)
    entry.save()
    return entry


def delete_entry(*, tenant: Tenant, entry: ShortlistEntry) -> None:
    if entry.tenant_id != tenant.id:
        raise ShortlistError("shortlist entry not found", status=404)
    entry.delete()


def _cell(value: object) -> str:
    """A text cell a spreadsheet will not run: a leading = + - @ (a formula) is quoted with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_shortlist_csv(*, tenant: Tenant, vacancy: Vacancy, entries: list[ShortlistEntry]) -> str:
    """The shortlist as CSV, contact details included: what a recruiter takes to the hiring manager."""
    if vacancy.tenant_id != tenant.id:
        raise ShortlistError("vacancy not found", status=404)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for e in entries:
        person = e.candidate
        writer.writerow(
            _cell(v)
            for v in [
                vacancy.external_id,
                vacancy.title,
                person.external_id,
                person.title,
                getattr(person, "display_name", ""),
                getattr(person, "contact", ""),
                e.status,
                e.note,
                e.added_by.username if e.added_by else "",
                e.updated_at.isoformat(),
            ]  # fmt: skip
        )
    return out.getvalue()
