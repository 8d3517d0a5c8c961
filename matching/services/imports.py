"""CSV import: every valid row is kept, every bad row is reported with its line number."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from jobmatch_site import queue
from tenants.models import Tenant

from .. import task_names
from ..errors import MatchingError
from ..models import ImportUpload, Job, Kind
from .records import MAX_BULK_ROWS, PERSON_FIELDS, clean_record, upsert_records

REQUIRED_COLUMNS = ("external_id", "title")
STANDARD_COLUMNS = ("external_id", "title", "description", "country", "city", "latitude", "longitude", "languages")
MAX_CSV_BYTES = 50 * 1024 * 1024


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    refused: int = 0  # rows refused; a row may have several errors
    errors: list[dict] = field(default_factory=list)  # {"line": n, "field": ..., "detail": ...}, every one of a row


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_CSV_BYTES:
        raise MatchingError(f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB", field="file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MatchingError(f"the file is not UTF-8 (byte {exc.start})", field="file") from None


def _check_header(header: list[str]) -> None:
    if missing := [name for name in REQUIRED_COLUMNS if name not in header]:
        raise MatchingError(
            f"the CSV has no {missing[0]!r} column (header: {', '.join(header) or 'empty'})", field="file"
        )
    if len(set(header)) != len(header) or any(not name for name in header):
        raise MatchingError("the CSV header has an empty or repeated column name", field="file")


def _row_to_data(row: dict[str, str], kind: Kind) -> dict:
    columns = STANDARD_COLUMNS + (PERSON_FIELDS if kind is Kind.CANDIDATES else ())
    data = {name: row.get(name, "") for name in columns if name in row}
    data["custom_fields"] = {name: value for name, value in row.items() if name not in columns and value != ""}
    return data


def import_csv(
    *, tenant: Tenant, kind: Kind, raw: bytes, progress: Callable[[int, int], None] | None = None
) -> ImportReport:
    """Upsert the file's valid rows by external_id; columns beyond the standard ones become custom fields.

    The whole file is parsed before anything is written, so a structurally broken file changes nothing.
    """
    reader = csv.DictReader(io.StringIO(_decode(raw), newline=""), strict=True)
    report, valid = ImportReport(), {}
    try:
        _check_header(reader.fieldnames or [])
        for row in reader:
            report.rows += 1
            if None in row or None in row.values():
                report.refused += 1
                report.errors.append({"line": reader.line_num, "field": None, "detail": "wrong number of columns"})
                continue
            data = _row_to_data(row, kind)
            try:
                external_id = clean_record(data, kind=kind).external_id
            except MatchingError as exc:  # every bad field of the row, as a form shows them, not the first only
                report.refused += 1
                found = exc.errors or [{"field": exc.field, "detail": exc.message}]
                line = reader.line_num
                report.errors.extend({"line": line, "field": e["field"], "detail": e["detail"]} for e in found)
                continue
            valid.pop(external_id, None)  # a later row of the same external_id wins, as a second import would
            valid[external_id] = (reader.line_num, data)
    except csv.Error as exc:
        raise MatchingError(f"malformed CSV at line {reader.line_num}: {exc}", field="file") from None
    rows = list(valid.values())
    for start in range(0, len(rows), MAX_BULK_ROWS):
        batch = rows[start : start + MAX_BULK_ROWS]
        result = upsert_records(tenant=tenant, kind=kind, rows=[d for _, d in batch], row_numbers=[n for n, _ in batch])
        report.created += result.created
        report.updated += result.updated
        if progress:
            progress(start + len(batch), len(rows))
    return report


MAX_REPORTED_ERRORS = 1000  # a report longer than this is not read; the count still says how many there were


def check_csv(raw: bytes) -> None:
    """The refusals a form can give at once (size, encoding, header), before the file is queued."""
    _check_header(next(csv.reader(io.StringIO(_decode(raw), newline="")), []))


def start_import(*, tenant: Tenant, kind: Kind, raw: bytes, filename: str = "") -> Job:
    """Store the upload and queue its import; the returned Job carries the progress and, at the end, the report."""
    check_csv(raw)
    with transaction.atomic():
        job = Job.objects.create(
            tenant=tenant, kind=Job.Type.IMPORT, params={"kind": kind.value, "filename": filename[:200]}
        )
        ImportUpload.objects.create(tenant=tenant, job=job, data=raw)
        transaction.on_commit(lambda: _queue(job))
    return job


def _queue(job: Job) -> None:
    if not queue.send(task_names.IMPORT_CSV, job.tenant_id, job.id):  # the upload is stored; say what happened
        job.status, job.finished_at = Job.Status.FAILED, timezone.now()
        job.message = "the task queue is unreachable: upload the file again in a minute"
        job.save(update_fields=["status", "finished_at", "message"])


def run_import_job(*, tenant: Tenant, job: Job) -> Job:
    """The worker's half of start_import. Re-running a finished job is a no-op; re-running an interrupted one
    upserts the same rows again (by external_id), so a redelivered task loses and doubles nothing."""
    if job.status in (Job.Status.DONE, Job.Status.FAILED):
        return job
    upload = ImportUpload.objects.filter(job=job).first()
    if upload is None:
        return _finish(job, Job.Status.FAILED, "the uploaded file is gone")
    job.status, job.done = Job.Status.RUNNING, 0
    job.save(update_fields=["status", "done", "updated_at"])

    def progress(done: int, total: int) -> None:
        Job.objects.filter(pk=job.pk).update(done=done, total=total, updated_at=timezone.now())

    try:
        report = import_csv(tenant=tenant, kind=Kind(job.params["kind"]), raw=bytes(upload.data), progress=progress)
    except MatchingError as exc:
        return _finish(job, Job.Status.FAILED, exc.message)
    job.refresh_from_db()
    job.params = job.params | {
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "refused": report.refused,
        "n_errors": len(report.errors),
        "errors": report.errors[:MAX_REPORTED_ERRORS],
    }
    job.total = job.done = report.rows  # every row read counts, the refused ones too ("7 of 7 rows")
    rows = "row" if report.refused == 1 else "rows"
    problems = f"{len(report.errors)} problem{'s' if len(report.errors) != 1 else ''}"
    bad = f", {report.refused} {rows} refused ({problems})" if report.errors else ""
    return _finish(job, Job.Status.DONE, f"{report.created} created, {report.updated} updated{bad}")


def _finish(job: Job, status: str, message: str) -> Job:
    job.status, job.message, job.finished_at = status, message, timezone.now()
    job.save()
    ImportUpload.objects.filter(job=job).delete()  # the report stays on the job; the file is not needed again
    return job
