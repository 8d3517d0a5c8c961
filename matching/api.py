"""REST API for integrations: vacancies and candidates (CRUD, bulk upsert) and search. Parse, delegate, serialize."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import validated

from .errors import MatchingError
from .models import Kind
from .selectors import get_record, list_records
from .services import (
    MAX_BULK_ROWS,
    MAX_K,
    SearchFilters,
    create_record,
    delete_record,
    search,
    update_record,
    upsert_records,
)


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
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RecordIn(serializers.Serializer):
    """Documents the body; services/records.py validates it (one path for API, CSV and forms)."""

    external_id = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(required=False, allow_blank=True, help_text="ISO 3166-1 alpha-2")
    city = serializers.CharField(required=False, allow_blank=True)
    latitude = serializers.FloatField(required=False, allow_null=True)
    longitude = serializers.FloatField(required=False, allow_null=True)
    languages = serializers.DictField(child=serializers.CharField(), required=False, help_text='{"en": "C1"}')
    custom_fields = serializers.DictField(required=False)


class ErrorOut(serializers.Serializer):
    detail = serializers.CharField()
    field = serializers.CharField(allow_null=True)


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


LIST_PARAMETERS = [
    OpenApiParameter("country", str),
    OpenApiParameter("city", str),
    OpenApiParameter("language", str, description="minimum levels, e.g. en:B2;de:B1"),
    OpenApiParameter("external_id", str),
    OpenApiParameter("q", str, description="text in the title"),
    OpenApiParameter("custom.<name>", str, description="equality on a custom field"),
]


def _list_filters(request: Request) -> SearchFilters:
    params = request.query_params
    custom = {key.removeprefix("custom."): value for key, value in params.items() if key.startswith("custom.")}
    known = {"country", "city", "language", "external_id", "q", "cursor", "page_size"}
    if unknown := sorted(key for key in params if key not in known and not key.startswith("custom.")):
        raise MatchingError(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    return SearchFilters.from_params(
        {
            "country": params.get("country", ""),
            "city": params.get("city", ""),
            "languages": params.get("language", ""),
            "custom": custom,
        }
    )


class RecordListApi(APIView):
    kind: Kind = Kind.VACANCIES

    @extend_schema(parameters=LIST_PARAMETERS, responses=RecordOut(many=True))
    def get(self, request: Request) -> Response:
        rows: QuerySet = list_records(
            tenant=request.tenant,
            kind=self.kind,
            filters=_list_filters(request),
            query=request.query_params.get("q", ""),
        )
        if external_id := request.query_params.get("external_id"):
            rows = rows.filter(external_id=external_id)
        paginator = NewestFirst()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(RecordOut(page, many=True).data)

    @extend_schema(request=RecordIn, responses={201: RecordOut, 400: ErrorOut, 409: ErrorOut})
    def post(self, request: Request) -> Response:
        record = create_record(tenant=request.tenant, kind=self.kind, data=request.data)
        return Response(RecordOut(record).data, status=status.HTTP_201_CREATED)


class RecordDetailApi(APIView):
    kind: Kind = Kind.VACANCIES

    @extend_schema(responses={200: RecordOut, 404: ErrorOut})
    def get(self, request: Request, record_id: int) -> Response:
        return Response(RecordOut(get_record(tenant=request.tenant, kind=self.kind, record_id=record_id)).data)

    @extend_schema(request=RecordIn, responses={200: RecordOut, 400: ErrorOut, 404: ErrorOut})
    def patch(self, request: Request, record_id: int) -> Response:
        record = get_record(tenant=request.tenant, kind=self.kind, record_id=record_id)
        record = update_record(tenant=request.tenant, kind=self.kind, record=record, data=request.data, partial=True)
        return Response(RecordOut(record).data)

    @extend_schema(request=RecordIn, responses={200: RecordOut, 400: ErrorOut, 404: ErrorOut})
    def put(self, request: Request, record_id: int) -> Response:
        record = get_record(tenant=request.tenant, kind=self.kind, record_id=record_id)
        record = update_record(tenant=request.tenant, kind=self.kind, record=record, data=request.data, partial=False)
        return Response(RecordOut(record).data)

    @extend_schema(responses={204: None, 404: ErrorOut})
    def delete(self, request: Request, record_id: int) -> Response:
        delete_record(record=get_record(tenant=request.tenant, kind=self.kind, record_id=record_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordBulkUpsertApi(APIView):
    kind: Kind = Kind.VACANCIES

    class Body(serializers.Serializer):
        rows = serializers.ListField(child=serializers.DictField(), max_length=MAX_BULK_ROWS, allow_empty=False)

    class Report(serializers.Serializer):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        ids = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(request=Body, responses={200: Report, 400: ErrorOut})
    def post(self, request: Request) -> Response:
        body = validated(self.Body, request.data)
        report = upsert_records(tenant=request.tenant, kind=self.kind, rows=body["rows"])
        return Response(self.Report(report).data)


class SearchApi(APIView):
    required_scope = "search"

    class Params(serializers.Serializer):
        vacancy_id = serializers.IntegerField(required=False)
        candidate_id = serializers.IntegerField(required=False)
        text = serializers.CharField(required=False, trim_whitespace=True, max_length=20_000)
        kind = serializers.ChoiceField(
            choices=Kind.choices, required=False, help_text="what to find for free text: candidates or vacancies"
        )
        k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=10)
        filters = serializers.DictField(required=False, help_text="country, city, languages {en: B2}, custom {}")
        only_matches = serializers.BooleanField(default=False, help_text="only results at or above the threshold")

        def validate(self, attrs: dict) -> dict:
            given = [name for name in ("vacancy_id", "candidate_id", "text") if name in attrs]
            if len(given) != 1:
                raise serializers.ValidationError({"text": "give exactly one of vacancy_id, candidate_id or text"})
            if "text" in attrs and "kind" not in attrs:
                raise serializers.ValidationError({"kind": "free text needs kind: candidates or vacancies"})
            return attrs

    class Hit(serializers.Serializer):
        id = serializers.IntegerField(source="record.pk")
        kind = serializers.CharField()
        external_id = serializers.CharField(source="record.external_id")
        title = serializers.CharField(source="record.title")
        country = serializers.CharField(source="record.country")
        city = serializers.CharField(source="record.city")
        similarity = serializers.FloatField()
        confidence = serializers.FloatField(allow_null=True)
        is_match = serializers.BooleanField(allow_null=True)

    class Excluded(serializers.Serializer):
        rule = serializers.CharField()
        removed = serializers.IntegerField(help_text="rows within the filters inside the rule's anchor B")

    class Result(serializers.Serializer):
        encoder = serializers.CharField()
        kind = serializers.CharField()
        threshold = serializers.FloatField(allow_null=True)
        threshold_source = serializers.CharField(allow_null=True, help_text="tenant, global, or null")
        excluded = serializers.SerializerMethodField()
        results = serializers.SerializerMethodField()

        def get_excluded(self, result: object) -> list[dict]:
            return SearchApi.Excluded(result.excluded, many=True).data

        def get_results(self, result: object) -> list[dict]:
            return SearchApi.Hit(result.matches, many=True).data

    @extend_schema(request=Params, responses={200: Result, 400: ErrorOut, 404: ErrorOut})
    def post(self, request: Request) -> Response:
        p = validated(self.Params, request.data)
        options = {
            "filters": SearchFilters.from_params(p.get("filters")),
            "k": p["k"],
            "only_matches": p["only_matches"],
        }
        if "vacancy_id" in p:
            record = get_record(tenant=request.tenant, kind=Kind.VACANCIES, record_id=p["vacancy_id"])
            result = search(tenant=request.tenant, target=Kind.CANDIDATES, record=record, **options)
        elif "candidate_id" in p:
            record = get_record(tenant=request.tenant, kind=Kind.CANDIDATES, record_id=p["candidate_id"])
            result = search(tenant=request.tenant, target=Kind.VACANCIES, record=record, **options)
        else:
            result = search(tenant=request.tenant, target=Kind(p["kind"]), text=p["text"], **options)
        return Response(self.Result(result).data)
