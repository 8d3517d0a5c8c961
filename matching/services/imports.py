"""CSV import: every valid row is kept, every bad row is reported with its line number."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from tenants.models import Tenant

from ..errors import MatchingError
from ..models import Kind
from .records import MAX_BULK_ROWS, clean_record, upsert_records

REQUIRED_COLUMNS = ("external_id", "title")
STANDARD_COLUMNS = ("external_id", "title", "description", "country", "city", "latitude", "longitude", "languages")
MAX_CSV_BYTES = 50 * 1024 * 1024


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)  # {"line": n, "field": ..., "detail": ...}


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_CSV_BYTES:
        raise MatchingError(f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB", field="file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MatchingError(f"the file is not UTF-8 (byte {exc.start})", field="file") from None


def _row_to_data(row: dict[str, str]) -> dict:
    data = {name: row.get(name, "") for name in STANDARD_COLUMNS if name in row}
    data["custom_fields"] = {name: value for name, value in row.items() if name not in STANDARD_COLUMNS and value != ""}
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
        header = reader.fieldnames or []
        if missing := [name for name in REQUIRED_COLUMNS if name not in header]:
            raise MatchingError(
                f"the CSV has no {missing[0]!r} column (header: {', '.join(header) or 'empty'})", field="file"
            )
        if len(set(header)) != len(header) or any(not name for name in header):
            raise MatchingError("the CSV header has an empty or repeated column name", field="file")
        for row in reader:
            report.rows += 1
            if None in row or None in row.values():
                report.errors.append({"line": reader.line_num, "field": None, "detail": "wrong number of columns"})
                continue
            data = _row_to_data(row)
            try:
                external_id = clean_record(data).external_id
            except MatchingError as exc:
                report.errors.append({"line": reader.line_num, "field": exc.field, "detail": exc.message})
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
