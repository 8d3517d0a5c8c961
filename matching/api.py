"""REST API for integrations: vacancies and candidates (CRUD, bulk upsert); search is search_api.py. Parse, delegate,
serialize."""

import re

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import NOT_BLANK, api_schema, validated

from .errors import MatchingError
from .models import Kind
from .selectors import get_record, list_records
from .services import (
    MAX_BULK_ROWS,
    SearchFilters,
    create_record,
    delete_record,
    update_record,
    upsert_records,
)
from .services.normalization import stored_occupations
from .services.records import MAX_LANGUAGES


class RecordOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    country = serializers.CharField()
    city = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    languages = serializers.DictField(child=serializers.CharField())
    custom_fields = serializers.DictField()
    display_name = serializers.CharField(required=False, help_text="candidates only; never encoded or matched on")
    contact = serializers.CharField(required=False, help_text="candidates only; never encoded or matched on")
    remote = serializers.BooleanField(help_text="a remote vacancy has no location requirement")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    occupations = serializers.SerializerMethodField(
        help_text="its top 3 ESCO occupations under the tenant's encoder [{uri, label, isco_group, score}]; null "
        "until they are computed (after its vector, once the encoder's ESCO vectors are prepared)"
    )

    @extend_schema_field(
        {"type": "array", "nullable": True, "items": {"type": "object", "properties": {
            "uri": {"type": "string"}, "label": {"type": "string"}, "isco_group": {"type": "string"},
            "score": {"type": "number"}}}}
    )  # fmt: skip
    def get_occupations(self, record: object) -> list[dict] | None:
        if hasattr(record, "top_occupations"):  # annotated by list_records: no query per row
            return record.top_occupations
        return stored_occupations(record=record)


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string"}], "nullable": True})
class CoordinateField(serializers.FloatField):
    """Documents what records.py accepts: a number, or a numeric string (as a CSV cell is)."""


_LEVEL = r"\s*[A-Ca-c][12]\s*"
LANGUAGES_STRING = rf"^[\s;]*(?:[A-Za-z]{{2,3}}\s*:{_LEVEL}(?:;[\s;]*|$)){{0,{MAX_LANGUAGES}}}$"


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": {"type": "string", "pattern": f"^{_LEVEL}$"},
                "maxProperties": MAX_LANGUAGES,
            },
            {"type": "string", "pattern": LANGUAGES_STRING},
        ],
        "nullable": True,
        "description": f'{{"en": "C1"}} or "en:C1;de:B2"; codes ISO 639 (2 or 3 letters), levels CEFR A1..C2; at most '
        f"{MAX_LANGUAGES} languages",
    }
)
class LanguagesField(serializers.DictField):
    pass


class RecordIn(serializers.Serializer):
    """Documents the body; services/records.py validates it (one path for API, CSV and forms)."""

    external_id = serializers.RegexField(NOT_BLANK, max_length=100, help_text="not blank once stripped")
    title = serializers.RegexField(NOT_BLANK, max_length=300, help_text="not blank once stripped")
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    country = serializers.CharField(required=False, allow_blank=True, allow_null=True, help_text="ISO 3166-1 alpha-2")
    city = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    latitude = CoordinateField(required=False, allow_null=True)
    longitude = CoordinateField(required=False, allow_null=True)
    languages = LanguagesField(required=False, allow_null=True)
    custom_fields = serializers.DictField(required=False, allow_null=True)
    display_name = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=200,
        help_text="candidates only: the person's name; shown and exported, never encoded or matched on",
    )  # fmt: skip
    contact = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=300,
        help_text="candidates only: e-mail or phone; shown and exported, never encoded or matched on",
    )  # fmt: skip
    remote = serializers.BooleanField(
        required=False, allow_null=True, help_text="on a vacancy: work from anywhere, so no location requirement"
    )


class RecordPage(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="the next page; null on the last")
    previous = serializers.URLField(allow_null=True)
    results = RecordOut(many=True)


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    _POSITION = re.compile(r"^[0-9]{1,18}$")  # an id: DRF would hand any text to the id filter (a 500)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, whose position must be an id; every invalid cursor is the documented 404 naming it."""
        try:
            cursor = super().decode_cursor(request)
            valid = cursor is None or cursor.position is None or self._POSITION.match(cursor.position)
        except NotFound:
            valid = False
        if not valid:
            raise MatchingError(self.invalid_cursor_message, field="cursor", status=404)
        return cursor


LIST_PARAMETERS = [
    OpenApiParameter("country", str, description="ISO 3166-1 alpha-2"),
    OpenApiParameter("city", str),
    OpenApiParameter("language", str, description="minimum levels, e.g. en:B2;de:B1"),
    OpenApiParameter("external_id", str),
    OpenApiParameter("q", str, description="text in the title, or an exact external_id"),
    OpenApiParameter("occupation", str, description="an ESCO occupation URI among the row's top 3 occupations"),
    OpenApiParameter("isco", str, description="an ISCO-08 group (1-4 digits) of one of the row's top 3 occupations"),
    OpenApiParameter("cursor", str, description="from `next` or `previous` of the page before; 404 if invalid"),
    OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": 200}, description="default 50"),
]
LIST_DESCRIPTION = "Newest first, cursor-paginated. `custom.<name>=value` filters on a custom field (equality)."


class ListParams(serializers.Serializer):
    """The query parameters with a type; validated so a malformed one is a 400, not silently ignored."""

    page_size = serializers.RegexField(  # ASCII digits only: int() would also take "5.0", " 5" and "٥"
        r"^(?:[1-9][0-9]?|1[0-9][0-9]|200)$",
        required=False,
        trim_whitespace=False,
        error_messages={"invalid": "page_size is 1 to 200"},
    )
    cursor = serializers.CharField(required=False, max_length=1000)


_LIST_PARAMETER_OF = {"filters.languages": "language", "filters.city": "city", "filters.country": "country",
                      "filters.occupation": "occupation", "filters.isco": "isco"}  # fmt: skip


def _list_filters(request: Request) -> SearchFilters:
    params = request.query_params
    validated(ListParams, {name: params[name] for name in ListParams().fields if name in params})
    custom = {key.removeprefix("custom."): value for key, value in params.items() if key.startswith("custom.")}
    known = {"country", "city", "language", "external_id", "q", "cursor", "page_size", "occupation", "isco"}
    if unknown := sorted(key for key in params if key not in known and not key.startswith("custom.")):
        raise MatchingError(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    filters = {
        "country": params.get("country", ""),
        "city": params.get("city", ""),
        "languages": params.get("language", ""),
        "custom": custom,
        "occupation": params.get("occupation", ""),
        "isco": params.get("isco", ""),
    }
    try:
        return SearchFilters.from_params(filters)
    except MatchingError as exc:  # the service names search's body fields; the caller here sent query parameters
        exc.field = _LIST_PARAMETER_OF.get(exc.field, (exc.field or "").removeprefix("filters.") or None)
        raise


class RecordListApi(APIView):
    """List and create; VacancyListApi and CandidateListApi below bind the kind (and the schema's names)."""

    kind: Kind

    @api_schema(parameters=LIST_PARAMETERS, responses={200: RecordPage}, errors=(404,), description=LIST_DESCRIPTION)
    def get(self, request: Request) -> Response:
        rows: QuerySet = list_records(
            tenant=request.tenant,
            kind=self.kind,
            filters=_list_filters(request),
            query=request.query_params.get("q", ""),
            external_id=request.query_params.get("external_id", ""),
        )
        paginator = NewestFirst()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(RecordOut(page, many=True).data)

    @api_schema(request=RecordIn, responses={201: RecordOut}, errors=(409,))
    def post(self, request: Request) -> Response:
        record = create_record(tenant=request.tenant, kind=self.kind, data=request.data)
        return Response(RecordOut(record).data, status=status.HTTP_201_CREATED)


class RecordDetailApi(APIView):
    kind: Kind

    @api_schema(responses={200: RecordOut}, errors=(404,))
    def get(self, request: Request, record_id: int) -> Response:
        return Response(RecordOut(get_record(tenant=request.tenant, kind=self.kind, record_id=record_id)).data)

    @api_schema(request=RecordIn, responses={200: RecordOut}, errors=(404, 409))
    def patch(self, request: Request, record_id: int) -> Response:
        record = get_record(tenant=request.tenant, kind=self.kind, record_id=record_id)
        record = update_record(tenant=request.tenant, kind=self.kind, record=record, data=request.data, partial=True)
        return Response(RecordOut(record).data)

    @api_schema(request=RecordIn, responses={200: RecordOut}, errors=(404, 409))
    def put(self, request: Request, record_id: int) -> Response:
        record = get_record(tenant=request.tenant, kind=self.kind, record_id=record_id)
        record = update_record(tenant=request.tenant, kind=self.kind, record=record, data=request.data, partial=False)
        return Response(RecordOut(record).data)

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request: Request, record_id: int) -> Response:
        record = get_record(tenant=request.tenant, kind=self.kind, record_id=record_id)
        delete_record(tenant=request.tenant, record=record)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordBulkUpsertApi(APIView):
    kind: Kind

    class Body(serializers.Serializer):  # rows stay dicts: services/records.py names every bad row at once
        rows = serializers.ListField(child=serializers.DictField(), max_length=MAX_BULK_ROWS, allow_empty=False)

    class BodySchema(serializers.Serializer):
        rows = RecordIn(many=True, max_length=MAX_BULK_ROWS, allow_empty=False)

    class Report(serializers.Serializer):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        ids = serializers.ListField(child=serializers.IntegerField(), help_text="in the order of the rows sent")

    @api_schema(
        request=BodySchema,
        responses={200: Report},
        description=f"Create or update up to {MAX_BULK_ROWS} rows by external_id, all or nothing: one bad row "
        "refuses the request, and `errors` names every bad row.",
    )
    def post(self, request: Request) -> Response:
        body = validated(self.Body, request.data)
        report = upsert_records(tenant=request.tenant, kind=self.kind, rows=body["rows"])
        return Response(self.Report(report).data)


def _per_kind(kind: Kind, **operations: str):  # noqa: ANN202
    """The schema's operation ids and tag for one kind's subclass: vacancies_list, candidates_bulk_upsert, ..."""
    return extend_schema_view(
        **{
            method: extend_schema(operation_id=f"{kind.value}_{name}", tags=[kind.value])
            for method, name in operations.items()
        }
    )


@_per_kind(Kind.VACANCIES, get="list", post="create")
class VacancyListApi(RecordListApi):
    kind = Kind.VACANCIES


@_per_kind(Kind.CANDIDATES, get="list", post="create")
class CandidateListApi(RecordListApi):
    kind = Kind.CANDIDATES


@_per_kind(Kind.VACANCIES, get="retrieve", patch="partial_update", put="update", delete="destroy")
class VacancyDetailApi(RecordDetailApi):
    kind = Kind.VACANCIES


@_per_kind(Kind.CANDIDATES, get="retrieve", patch="partial_update", put="update", delete="destroy")
class CandidateDetailApi(RecordDetailApi):
    kind = Kind.CANDIDATES


@_per_kind(Kind.VACANCIES, post="bulk_upsert")
class VacancyBulkUpsertApi(RecordBulkUpsertApi):
    kind = Kind.VACANCIES


@_per_kind(Kind.CANDIDATES, post="bulk_upsert")
class CandidateBulkUpsertApi(RecordBulkUpsertApi):
    kind = Kind.CANDIDATES
