"""Writing vacancies and candidates: one validation path for the API, CSV imports, forms and the demo seed."""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field

from django.db import transaction

from tenants.models import Tenant

from ..errors import MatchingError
from ..models import CEFR_LEVELS, Kind, Record
from .countries import COUNTRIES
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
# Candidates are people: a name and a contact line the team reads and exports with a shortlist. They are never
# encoded (text_for_encoding is title + description) and never filtered or ranked on.
PERSON_FIELDS = ("display_name", "contact")
PERSON_LIMITS = {"display_name": 200, "contact": 300}
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
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
    display_name: str = ""
    contact: str = ""

    def for_kind(self, kind: Kind | None) -> dict[str, object]:
        """The model's fields: a vacancy has no name or contact line."""
        values = asdict(self)
        return values if kind is Kind.CANDIDATES else {k: v for k, v in values.items() if k not in PERSON_FIELDS}


def record_fields(kind: Kind | None) -> tuple[str, ...]:
    return RECORD_FIELDS + PERSON_FIELDS if kind is Kind.CANDIDATES else RECORD_FIELDS


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


class _FieldErrors:
    """Collects every field's refusal, so a form or a request learns all of them at once, not one per submit."""

    def __init__(self) -> None:
        self.errors: list[MatchingError] = []

    def check(self, parse: Callable[..., object], *args: object, **kwargs: object) -> object:
        try:
            return parse(*args, **kwargs)
        except MatchingError as exc:
            self.errors.append(exc)
            return None

    def add(self, exc: MatchingError) -> None:
        self.errors.append(exc)

    def raise_any(self) -> None:
        if self.errors:
            first = self.errors[0]
            details = [{"field": e.field, "detail": e.message} for e in self.errors]
            raise MatchingError(first.message, field=first.field, status=first.status, errors=details)


def _country(data: Mapping) -> str:
    country = _text(data, "country", limit=64).upper()  # read whole: a long name is refused, never cut to 2
    if country and country not in COUNTRIES:
        raise MatchingError(f"country {country!r} is not an ISO 3166 alpha-2 code (like DE)", field="country")
    return country


def clean_record(data: Mapping, *, partial_of: Record | None = None, kind: Kind | None = None) -> RecordInput:
    """Validate one record's fields, every one of them; with partial_of, fields left out keep that record's values.

    Raises one MatchingError naming the first bad field, with `errors` listing every bad field.
    """
    if not isinstance(data, Mapping):
        raise MatchingError("a record must be a JSON object", field=None)
    allowed = record_fields(kind)
    if unknown := sorted(set(data) - set(allowed)):
        raise MatchingError(f"unknown field {unknown[0]!r}", field=unknown[0])
    if partial_of is not None:
        data = {name: getattr(partial_of, name) for name in allowed} | dict(data)
    found = _FieldErrors()
    values = {
        "external_id": found.check(_text, data, "external_id", limit=MAX_EXTERNAL_ID_CHARS, required=True),
        "title": found.check(_text, data, "title", limit=MAX_TITLE_CHARS, required=True),
        "description": found.check(_text, data, "description", limit=MAX_DESCRIPTION_CHARS),
        "country": found.check(_country, data),
        "city": found.check(_text, data, "city", limit=100),
        "latitude": found.check(_coordinate, data, "latitude", 90),
        "longitude": found.check(_coordinate, data, "longitude", 180),
        "languages": found.check(parse_languages, data.get("languages")),
        "custom_fields": found.check(_custom_fields, data.get("custom_fields")),
        "remote": found.check(_flag, data, "remote"),
    }
    if kind is Kind.CANDIDATES:
        values |= {name: found.check(_text, data, name, limit=PERSON_LIMITS[name]) for name in PERSON_FIELDS}
    coordinates_ok = not {e.field for e in found.errors} & {"latitude", "longitude"}
    if coordinates_ok and (values["latitude"] is None) != (values["longitude"] is None):
        name = "latitude" if values["latitude"] is None else "longitude"
        found.add(MatchingError("latitude and longitude go together", field=name))
    found.raise_any()
    return RecordInput(**values)


def _refuse_with_clash(*, exc: MatchingError | None, clash: bool, external_id: object) -> None:
    """A duplicate external_id is reported together with the fields' own errors (409 when it is the only one)."""
    if not clash:
        if exc is not None:
            raise exc
        return
    duplicate = MatchingError(f"external_id {external_id!r} already exists", field="external_id", status=409)
    if exc is None:
        raise duplicate
    details = [{"field": "external_id", "detail": duplicate.message}] + [
        e for e in exc.errors or [] if e["field"] != "external_id"
    ]
    raise MatchingError(exc.message, field=exc.field, errors=details)


def _clean_or_error(data: Mapping, *, kind: Kind) -> tuple[RecordInput | None, MatchingError | None]:
    try:
        return clean_record(data, kind=kind), None
    except MatchingError as exc:
        if exc.errors is None:
            raise
        return None, exc


def validate_record(*, tenant: Tenant, kind: Kind, data: Mapping, record: Record | None = None) -> RecordInput:
    """What create_record (record=None) or a full update_record would store, or one MatchingError listing every
    bad field, a duplicate external_id among them; writes nothing."""
    values, exc = _clean_or_error(data, kind=kind)
    external_id = values.external_id if values else str(data.get("external_id") or "").strip()
    others = kind.record_model.objects.filter(tenant=tenant, external_id=external_id)
    clash = bool(external_id) and (others.exclude(pk=record.pk) if record else others).exists()
    _refuse_with_clash(exc=exc, clash=clash, external_id=external_id)
    return values


def create_record(*, tenant, kind: Kind, data: Mapping) -> Record:
    model = kind.record_model
    with transaction.atomic():
        values = validate_record(tenant=tenant, kind=kind, data=data)
        record = model.objects.create(tenant=tenant, **values.for_kind(kind))
        queue_encoding(tenant_id=tenant.id, kind=kind, record_ids=[record.id])
    return record


def update_record(*, tenant, kind: Kind, record: Record, data: Mapping, partial: bool = True) -> Record:
    if not isinstance(data, Mapping):
        raise MatchingError("a record must be a JSON object", field=None)
    merged = {name: getattr(record, name) for name in record_fields(kind)} | dict(data) if partial else data
    with transaction.atomic():
        values = validate_record(tenant=tenant, kind=kind, data=merged, record=record)
        for name, value in values.for_kind(kind).items():
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
            values = clean_record(row, kind=kind)
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
            or any(
                getattr(existing[values.external_id], name) != value for name, value in values.for_kind(kind).items()
            )
        ]
        # ON CONFLICT on the tenant's own unique key: a row inserted concurrently is updated, not duplicated.
        written = model.objects.bulk_create(
            [model(tenant=tenant, **values.for_kind(kind)) for values in changed],
            update_conflicts=True,
            unique_fields=["tenant", "external_id"],
            update_fields=[name for name in record_fields(kind) if name != "external_id"] + ["updated_at"],
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
