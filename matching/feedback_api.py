"""REST API for feedback (mark a pair good/bad, list, CSV export/import) and the tenant's calibrated threshold."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import StrictFloatField, api_schema, validated

from .errors import MatchingError
from .models import CalibrationTarget, Kind
from .selectors import get_record, latest_threshold_fit, list_feedback
from .services import (
    MIN_LABELS_PER_CLASS,
    calibrate_tenant,
    export_feedback_csv,
    import_feedback_csv,
    record_feedback,
    set_policy,
    threshold_for,
)
from .services.calibration import policy_for


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


class FitOut(serializers.Serializer):
    fitted_at = serializers.DateTimeField()
    encoder = serializers.CharField(source="encoder_version.name")
    target = serializers.CharField()
    n_labels = serializers.IntegerField()
    n_good = serializers.IntegerField()
    n_bad = serializers.IntegerField()
    sufficient = serializers.BooleanField()
    threshold = serializers.FloatField()
    precision = serializers.FloatField()
    recall = serializers.FloatField()
    f1 = serializers.FloatField()
    false_accept_rate = serializers.FloatField()
    opis_groups = serializers.FloatField(allow_null=True)
    curve = serializers.ListField(child=serializers.DictField())


class CalibrationOut(serializers.Serializer):
    threshold = serializers.FloatField(allow_null=True)
    source = serializers.CharField(allow_null=True, help_text="tenant, global, or null")
    target = serializers.CharField()
    max_false_accept_rate = StrictFloatField(allow_null=True)
    min_labels_per_class = serializers.IntegerField()
    latest_fit = FitOut(allow_null=True)


@extend_schema_field(
    {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMinimum": True, "exclusiveMaximum": True, "nullable": True}
)
class OpenRateField(StrictFloatField):
    """A rate strictly between 0 and 1, as services/calibration.py's clean_policy requires (0 would admit no
    false accept at all, 1 every one: neither is a threshold to fit), refused here too when the target ignores it."""

    def to_internal_value(self, data: object) -> float:
        rate = super().to_internal_value(data)
        if not 0.0 < rate < 1.0:
            raise serializers.ValidationError("must be between 0 and 1, both excluded")
        return rate


class CalibrationApi(APIView):
    """The threshold searches use now, where it comes from, the tenant's target, and its latest fit."""

    required_scope = "admin"

    class Policy(serializers.Serializer):
        target = serializers.ChoiceField(choices=CalibrationTarget.values)
        max_false_accept_rate = OpenRateField(required=False, allow_null=True, help_text="needed by target max_far")

    def _state(self, request: Request) -> dict:
        tenant = request.tenant
        threshold = threshold_for(tenant=tenant, version=tenant.active_encoder)
        policy = policy_for(tenant=tenant)
        fit = latest_threshold_fit(tenant=tenant)
        return {
            "threshold": None if threshold is None else threshold.value,
            "source": None if threshold is None else threshold.source,
            "target": policy.target,
            "max_false_accept_rate": policy.max_false_accept_rate,
            "min_labels_per_class": MIN_LABELS_PER_CLASS,
            "latest_fit": None if fit is None else FitOut(fit).data,
        }

    @api_schema(responses={200: CalibrationOut}, errors=(404, 409))
    def get(self, request: Request) -> Response:
        return Response(self._state(request))

    @api_schema(request=Policy, responses={200: CalibrationOut}, errors=(404, 409))
    def put(self, request: Request) -> Response:
        body = validated(self.Policy, request.data)
        set_policy(
            tenant=request.tenant, target=body["target"], max_false_accept_rate=body.get("max_false_accept_rate")
        )
        calibrate_tenant(tenant=request.tenant)
        return Response(self._state(request))


class CalibrationRefitApi(APIView):
    required_scope = "admin"

    @api_schema(request=None, responses={200: CalibrationOut}, errors=(404, 409))
    def post(self, request: Request) -> Response:
        calibrate_tenant(tenant=request.tenant)
        return Response(CalibrationApi()._state(request))
