"""REST API for occupation normalisation (issue 20): a text's, a vacancy's or a candidate's top ESCO occupations."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import StrictCharField, StrictIntegerField, api_schema, validated
from tenants.throttling import CredentialRateThrottle, SearchRateThrottle

from .models import Kind
from .selectors import get_record
from .services.encoding import active_encoder_version
from .services.normalization import normalize_record, normalize_text
from .services.occupations import MAX_K as MAX_OCCUPATIONS


class NormalizeApi(APIView):
    """A text's, a vacancy's or a candidate's top ESCO occupations (issue 20)."""

    required_scope = "search"
    throttle_classes = [CredentialRateThrottle, SearchRateThrottle]

    class NormalizeParams(serializers.Serializer):
        """Exactly one of text, vacancy_id or candidate_id; anything else is a 400 naming `text`."""

        text = StrictCharField(required=False, max_length=20_000, help_text="a job title works best")
        vacancy_id = StrictIntegerField(required=False)
        candidate_id = StrictIntegerField(required=False)
        k = StrictIntegerField(min_value=1, max_value=MAX_OCCUPATIONS, default=5)

        def validate(self, attrs: dict) -> dict:
            if len([name for name in ("text", "vacancy_id", "candidate_id") if name in attrs]) != 1:
                raise serializers.ValidationError({"text": "give exactly one of text, vacancy_id or candidate_id"})
            return attrs

    class NormalizedOccupation(serializers.Serializer):
        uri = serializers.CharField(help_text="the ESCO occupation's URI")
        label = serializers.CharField(help_text="its preferred label")
        isco_group = serializers.CharField(help_text="its ISCO-08 unit group (4 digits)")
        score = serializers.FloatField(help_text="best label + centroid + description cosines fused with lexical")

    class NormalizeResult(serializers.Serializer):
        encoder = serializers.CharField()
        results = serializers.SerializerMethodField()

        def get_results(self, result: object) -> list[dict]:
            return NormalizeApi.NormalizedOccupation(result.results, many=True).data

    @api_schema(
        operation_id="normalize",
        tags=["normalize"],
        request=NormalizeParams,
        responses={200: NormalizeResult},
        errors=(404,),
        description="503 while a worker prepares the ESCO occupation vectors of the tenant's encoder version (once "
        "per version, about a minute); retry after it.",
    )
    def post(self, request: Request) -> Response:
        p = validated(self.NormalizeParams, request.data)
        if "text" in p:
            version = active_encoder_version(tenant=request.tenant)
            result = normalize_text(version=version, text=p["text"], k=p["k"])
        else:
            kind = Kind.VACANCIES if "vacancy_id" in p else Kind.CANDIDATES
            record_id = p.get("vacancy_id", p.get("candidate_id"))
            record = get_record(tenant=request.tenant, kind=kind, record_id=record_id)
            result = normalize_record(tenant=request.tenant, record=record, k=p["k"])
        return Response(self.NormalizeResult(result).data)


class NormalizeParamsSchema(OpenApiSerializerExtension):
    """The body as the schema states it: exactly one of text, vacancy_id or candidate_id."""

    target_class = NormalizeApi.NormalizeParams

    def map_serializer(self, auto_schema: object, direction: str) -> dict:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        alone = [{"required": ["text"]}, {"required": ["vacancy_id"]}, {"required": ["candidate_id"]}]
        return schema | {"oneOf": alone}
