"""Shortlists: add candidates to a vacancy's shortlist, move them through the pipeline, note, remove, export; the
team's own words for the pipeline's steps."""

import csv
import io
from collections.abc import Collection, Mapping

from django.db import transaction

from jobmatch_site.integrity import key_share_locked
from matching.models import Candidate, Vacancy
from tenants.models import Tenant

from .errors import ShortlistError
from .models import PipelineLabel, ShortlistEntry
from .selectors import pipeline_labels

MAX_NOTE_CHARS = 2000
MAX_LABEL_CHARS = 40  # a step's name sits in a select and a tab row: a word or two
MAX_BULK = 200  # a match list shows at most the API's maximum k; more in one request is a mistake
EXPORT_COLUMNS = [
    "vacancy_external_id", "vacancy_title", "candidate_external_id", "candidate_title", "display_name", "contact",
    "status", "status_label", "note", "added_by", "updated_at",
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
    labels = pipeline_labels(tenant=tenant)
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
                labels[e.status],
                e.note,
                e.added_by.username if e.added_by else "",
                e.updated_at.isoformat(),
            ]  # fmt: skip
        )
    return out.getvalue()


def clean_label(value: object, *, field: str) -> str:
    """One step's name: required, a word or two; `field` names the step (its status key) in the error."""
    label = value.strip() if isinstance(value, str) else value
    if not isinstance(label, str) or not label:
        raise ShortlistError(f"the name of the step “{field}” is required", field=field)
    if "\x00" in label:
        raise ShortlistError("a step's name contains a NUL character", field=field)
    if len(label) > MAX_LABEL_CHARS:
        raise ShortlistError(
            f"a step's name takes up to {MAX_LABEL_CHARS} characters ({len(label)} given)", field=field
        )
    return label


def label_clash(*, labels: Mapping[str, str], status: str) -> str | None:
    """The step before `status` (pipeline order) that has the same name, case aside, if any."""
    mine = labels[status].casefold()
    for other, label in labels.items():
        if other == status:
            return None
        if label.casefold() == mine:
            return other
    return None


@transaction.atomic
def set_pipeline_labels(*, tenant: Tenant, labels: Mapping[str, object]) -> dict[str, str]:
    """Rename the team's pipeline steps (status key -> label); steps left out keep theirs. Every bad label is named
    at once (field: the status key) and then nothing is saved. A label equal to the default stores no row."""
    if unknown := sorted(set(labels) - set(ShortlistEntry.Status.values)):
        raise ShortlistError(f"unknown pipeline step {unknown[0]!r}", field=unknown[0])
    wanted, errors = pipeline_labels(tenant=tenant), []
    for status, raw in labels.items():
        try:
            wanted[status] = clean_label(raw, field=status)
        except ShortlistError as exc:
            errors.append(exc)
    failed = {e.field for e in errors}
    for status in wanted:  # the later of two equal names is the one refused
        if status not in failed and (other := label_clash(labels=wanted, status=status)):
            errors.append(ShortlistError(f"“{wanted[status]}” is already the name of the step “{other}”", field=status))
    if errors:
        details = [{"field": e.field, "detail": e.message} for e in errors]
        raise ShortlistError(errors[0].message, field=errors[0].field, errors=details)
    defaults = dict(ShortlistEntry.Status.choices)
    for status, label in wanted.items():
        if label == defaults[status]:
            PipelineLabel.objects.filter(tenant=tenant, status=status).delete()
        else:
            PipelineLabel.objects.update_or_create(tenant=tenant, status=status, defaults={"label": label})
    return wanted
