"""REST API for feedback: mark a pair good/bad, list, CSV export/import."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import api_schema, validated

from .errors import MatchingError
from .models import Kind
from .selectors import get_record, list_feedback
from .services import export_feedback_csv, import_feedback_csv, record_feedback


def _who(request: Request) -> dict:
    key = request.auth if hasattr(request.auth, "prefix") else None
    return {"user": request.user, "api_key": key}


class FeedbackOut(serializers.Serializer):
    id = serializers.IntegerField()
    vacancy_id = serializers.IntegerField()
    candidate_id = serializers.IntegerField()
    query = serializers.CharField(source="query_kind")
    label = serializers.CharField()
    source = serializers.CharField()
    marked_by = serializers.SerializerMethodField()
    marked_at = serializers.DateTimeField()

    def get_marked_by(self, row: object) -> str:
        if row.user_id:
            return row.user.get_username()
        return f"api-key:{row.api_key.prefix}" if row.api_key_id else ""


class FeedbackListApi(APIView):
    @extend_schema_serializer(component_name="FeedbackIn")
    class Body(serializers.Serializer):
        vacancy_id = serializers.IntegerField()
        candidate_id = serializers.IntegerField()
        label = serializers.ChoiceField(choices=["good", "bad"])
        query = serializers.ChoiceField(choices=["vacancy", "candidate"], default="vacancy",
                                        help_text="the side that was searched")  # fmt: skip

    @api_schema(responses={200: FeedbackOut(many=True)}, errors=(404, 409))
    def get(self, request: Request) -> Response:
        rows = list_feedback(tenant=request.tenant).order_by("-marked_at", "-id")[:1000]
        return Response(FeedbackOut(rows, many=True).data)

    @api_schema(request=Body, responses={201: FeedbackOut, 200: FeedbackOut}, errors=(404, 409))
    def post(self, request: Request) -> Response:
        body = validated(self.Body, request.data)
        row, created = record_feedback(
            tenant=request.tenant,
            vacancy=get_record(tenant=request.tenant, kind=Kind.VACANCIES, record_id=body["vacancy_id"]),
            candidate=get_record(tenant=request.tenant, kind=Kind.CANDIDATES, record_id=body["candidate_id"]),
            good=body["label"] == "good",
            query=body["query"],
            **_who(request),
        )
        return Response(FeedbackOut(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class FeedbackExportApi(APIView):
    @api_schema(responses={(200, "text/csv"): str}, errors=(404, 409))
    def get(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(export_feedback_csv(tenant=request.tenant), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="feedback-{request.tenant.slug}.csv"'
        return response


class FeedbackImportApi(APIView):
    """Upload labelled pairs as CSV (vacancy_external_id, candidate_external_id, label[, query]); all or nothing."""

    parser_classes = [MultiPartParser, FileUploadParser]

    @api_schema(request={"multipart/form-data": {"type": "object", "properties": {"file": {"type": "string",
                   "format": "binary"}}, "required": ["file"]}}, responses={200: dict}, errors=(404, 409))  # fmt: skip
    def post(self, request: Request) -> Response:
        upload = request.data.get("file")
        if upload is None:
            raise MatchingError("upload the CSV as the 'file' field", field="file")
        stored = import_feedback_csv(tenant=request.tenant, data=upload.read(), **_who(request))
        return Response({"stored": stored})
