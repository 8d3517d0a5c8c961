"""Writing vacancies and candidates: one validation path for the API, CSV imports, forms and the demo seed."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from django.db import transaction

from tenants.models import Tenant

from ..errors import MatchingError
from ..models import CEFR_LEVELS, Kind, Record
from .encoding import queue_encoding

MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 20_000
MAX_EXTERNAL_ID_CHARS = 100
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_KEY_CHARS = 64
MAX_CUSTOM_VALUE_CHARS = 500
MAX_BULK_ROWS = 1000
MAX_LANGUAGES = 50  # a person's languages, generously: more is junk that every language filter would scan
RECORD_FIELDS = (
    "external_id",
    "title",
    "description",
    "country",
    "city",
    "latitude",
    "longitude",
    "languages",
    "custom_fields",
    "remote",
)
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
_CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class RecordInput:
    external_id: str
    title: str
    description: str = ""
    country: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    languages: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, object] = field(default_factory=dict)
    remote: bool = False


def _text(data: Mapping, name: str, *, limit: int, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise MatchingError(f"{name} must be a string", field=name)
    value = value.strip()
    if "\x00" in value:
        raise MatchingError(f"{name} contains a NUL character", field=name)
    if required and not value:
        raise MatchingError(f"{name} is required", field=name)
    if len(value) > limit:
        raise MatchingError(f"{name} is longer than {limit} characters ({len(value)})", field=name)
    return value


def _coordinate(data: Mapping, name: str, bound: float) -> float | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MatchingError(f"{name} must be a number", field=name) from None
    if isinstance(value, bool) or not -bound <= number <= bound:
        raise MatchingError(f"{name} must be between -{bound:g} and {bound:g}", field=name)
    return number


def parse_languages(value: object, *, field_name: str = "languages") -> dict[str, str]:
    """{"en": "C1"} or "en:C1;de:B2" -> {"en": "C1", "de": "B2"}; codes are ISO 639, levels CEFR A1..C2."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        pairs = {}
        for chunk in filter(None, (part.strip() for part in value.split(";"))):
            code, sep, level = chunk.partition(":")
            if not sep:
                raise MatchingError(f"language {chunk!r} is not in the form code:LEVEL (en:B2)", field=field_name)
            pairs[code.strip()] = level.strip()
        value = pairs
    if not isinstance(value, Mapping):
        raise MatchingError('languages must be an object like {"en": "C1"}', field=field_name)
    if len(value) > MAX_LANGUAGES:
        raise MatchingError(f"at most {MAX_LANGUAGES} languages ({len(value)} given)", field=field_name)
    languages = {}
    for code, level in value.items():
        code, level = str(code).strip().lower(), str(level).strip().upper() if isinstance(level, str) else level
        if not _LANGUAGE_CODE.match(code):
            raise MatchingError(f"unknown language code {code!r} (use ISO 639, like en)", field=field_name)
        if level not in CEFR_LEVELS:
            raise MatchingError(f"unknown CEFR level {level!r} for {code} (use A1..C2)", field=field_name)
        languages[code] = level
    return languages


def _custom_fields(value: object) -> dict[str, object]:
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise MatchingError("custom_fields must be an object", field="custom_fields")
    if len(value) > MAX_CUSTOM_FIELDS:
        raise MatchingError(f"at most {MAX_CUSTOM_FIELDS} custom fields", field="custom_fields")
    cleaned = {}
    for key, item in value.items():
        if not isinstance(key, str) or len(key) > MAX_CUSTOM_KEY_CHARS or not _CUSTOM_KEY.match(key):
            raise MatchingError(f"custom field name {key!r} is not allowed", field="custom_fields")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise MatchingError(
                f"custom field {key!r} must be a string, number or boolean", field=f"custom_fields.{key}"
            )
        if isinstance(item, str) and (len(item) > MAX_CUSTOM_VALUE_CHARS or "\x00" in item):
            raise MatchingError(f"custom field {key!r} is too long or has a NUL", field=f"custom_fields.{key}")
        cleaned[key] = item
    return cleaned


def _flag(data: Mapping, name: str) -> bool:
    value = data.get(name)
    if value is None or value == "":
        return False
    if not isinstance(value, bool):
        raise MatchingError(f"{name} must be true or false", field=name)
    return value


def clean_record(data: Mapping, *, partial_of: Record | None = None) -> RecordInput:
    """Validate one record's fields; with partial_of, fields left out keep that record's values."""
    if not isinstance(data, Mapping):
        raise MatchingError("a record must be a JSON object", field=None)
    if unknown := sorted(set(data) - set(RECORD_FIELDS)):
        raise MatchingError(f"unknown field {unknown[0]!r}", field=unknown[0])
    if partial_of is not None:
        data = {name: getattr(partial_of, name) for name in RECORD_FIELDS} | dict(data)
    latitude, longitude = _coordinate(data, "latitude", 90), _coordinate(data, "longitude", 180)
    if (latitude is None) != (longitude is None):
        raise MatchingError("latitude and longitude go together", field="latitude" if latitude is None else "longitude")
    country = _text(data, "country", limit=2).upper()
    if country and not _COUNTRY_CODE.match(country):
        raise MatchingError(f"country {country!r} is not an ISO 3166 alpha-2 code", field="country")
    return RecordInput(
        external_id=_text(data, "external_id", limit=MAX_EXTERNAL_ID_CHARS, required=True),
        title=_text(data, "title", limit=MAX_TITLE_CHARS, required=True),
        description=_text(data, "description", limit=MAX_DESCRIPTION_CHARS),
        country=country,
        city=_text(data, "city", limit=100),
        latitude=latitude,
        longitude=longitude,
        languages=parse_languages(data.get("languages")),
        custom_fields=_custom_fields(data.get("custom_fields")),
        remote=_flag(data, "remote"),
    )


def create_record(*, tenant, kind: Kind, data: Mapping) -> Record:
    values = clean_record(data)
    model = kind.record_model
    with transaction.atomic():
        if model.objects.filter(tenant=tenant, external_id=values.external_id).exists():
            raise MatchingError(f"external_id {values.external_id!r} already exists", field="external_id", status=409)
        record = model.objects.create(tenant=tenant, **asdict(values))
        queue_encoding(tenant_id=tenant.id, kind=kind, record_ids=[record.id])
    return record


def update_record(*, tenant, kind: Kind, record: Record, data: Mapping, partial: bool = True) -> Record:
    values = clean_record(data, partial_of=record if partial else None)
    model = kind.record_model
    with transaction.atomic():
        clash = model.objects.filter(tenant=tenant, external_id=values.external_id).exclude(pk=record.pk)
        if clash.exists():
            raise MatchingError(f"external_id {values.external_id!r} already exists", field="external_id", status=409)
        for name, value in asdict(values).items():
            setattr(record, name, value)
        record.save()
        queue_encoding(tenant_id=tenant.id, kind=kind, record_ids=[record.id])
    return record


def delete_record(*, tenant: Tenant, record: Record) -> None:
    """Delete the tenant's row; its embeddings go with it (CASCADE)."""
    if record.tenant_id != tenant.id:
        raise MatchingError("not found", status=404)  # same answer as an id that never existed
    record.delete()


@dataclass(frozen=True)
class UpsertReport:
    created: int
    updated: int
    unchanged: int
    ids: list[int]


def upsert_records(
    *, tenant, kind: Kind, rows: Iterable[Mapping], row_numbers: list[int] | None = None
) -> UpsertReport:
    """Create or update by external_id, all or nothing: one bad row refuses the whole request, naming every bad row."""
    rows = list(rows)
    if len(rows) > MAX_BULK_ROWS:
        raise MatchingError(f"at most {MAX_BULK_ROWS} rows per request ({len(rows)} given)", field="rows")
    numbers = row_numbers or list(range(len(rows)))
    cleaned, errors, seen = [], [], {}
    for number, row in zip(numbers, rows, strict=True):
        try:
            values = clean_record(row)
        except MatchingError as exc:
            errors.append({"row": number, "field": exc.field, "detail": exc.message})
            continue
        if values.external_id in seen:
            errors.append(
                {
                    "row": number,
                    "field": "external_id",
                    "detail": f"external_id {values.external_id!r} repeats row {seen[values.external_id]}",
                }
            )
            continue
        seen[values.external_id] = number
        cleaned.append(values)
    if errors:
        first = errors[0]
        raise MatchingError(f"row {first['row']}: {first['detail']}", field="rows", errors=errors)
    return _write_upsert(tenant=tenant, kind=kind, cleaned=cleaned)


def _write_upsert(*, tenant, kind: Kind, cleaned: list[RecordInput]) -> UpsertReport:
    model = kind.record_model
    with transaction.atomic():
        existing = {
            record.external_id: record
            for record in model.objects.filter(tenant=tenant, external_id__in=[v.external_id for v in cleaned])
        }
        changed = [
            values
            for values in cleaned
            if values.external_id not in existing
            or any(getattr(existing[values.external_id], name) != value for name, value in asdict(values).items())
        ]
        # ON CONFLICT on the tenant's own unique key: a row inserted concurrently is updated, not duplicated.
        written = model.objects.bulk_create(
            [model(tenant=tenant, **asdict(values)) for values in changed],
            update_conflicts=True,
            unique_fields=["tenant", "external_id"],
            update_fields=[name for name in RECORD_FIELDS if name != "external_id"] + ["updated_at"],
        )
        queue_encoding(tenant_id=tenant.id, kind=kind, record_ids=[record.pk for record in written])
        ids = {record.external_id: record.pk for record in written}
        ids |= {ext: record.pk for ext, record in existing.items() if ext not in ids}
    created = sum(1 for values in changed if values.external_id not in existing)
    return UpsertReport(
        created=created,
        updated=len(changed) - created,
        unchanged=len(cleaned) - len(changed),
        ids=[ids[values.external_id] for values in cleaned],
    )
