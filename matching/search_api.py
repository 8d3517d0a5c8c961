"""REST API for search: a vacancy's candidates, a candidate's vacancies, or free text's matches. Parse, delegate,
serialize (split out of api.py like normalize_api.py)."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import StrictCharField, StrictIntegerField, api_schema, validated
from tenants.throttling import CredentialRateThrottle, SearchRateThrottle

from .models import Kind
from .selectors import get_record
from .services import MAX_K, SearchFilters, search
from .services.explanations import GRADES
from .services.requirements import DEFAULT_MODE, MODES
from .services.search import SearchResult


class RequirementOut(serializers.Serializer):
    requirement = serializers.CharField(help_text='"language pl", "location" or "custom <field>"')
    wanted = serializers.CharField(help_text='what the vacancy requires, e.g. "C1"')
    have = serializers.CharField(help_text='what the other side has, e.g. "B2" or "none"')
    met = serializers.BooleanField()


class ExplanationOut(serializers.Serializer):
    """Why a hit is there (services/explanations.py)."""

    requirements = RequirementOut(many=True, help_text="every requirement of the vacancy, met or not; [] for text")
    distance_km = serializers.FloatField(allow_null=True, help_text="between the two records' coordinates")
    rules = serializers.ListField(
        child=serializers.CharField(), help_text="exclusion rules the query fired (their rows are left out)"
    )
    threshold = serializers.FloatField(allow_null=True)
    threshold_source = serializers.CharField(
        allow_null=True, help_text='"tenant", "global (record)" or "global (text)"'
    )
    penalty = serializers.FloatField(help_text="subtracted from the similarity (rank mode), else 0")
    occupations = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="labels of the top-3 ESCO occupations the hit shares with the query record; left out for free "
        "text and while the query's occupations are not stored yet",
    )
    dense_similarity = serializers.FloatField(
        allow_null=True, help_text="the dense (meaning) cosine alone; similarity is it fused with the lexical one"
    )


class SearchApi(APIView):
    required_scope = "search"
    throttle_classes = [CredentialRateThrottle, SearchRateThrottle]

    class Params(serializers.Serializer):
        """Exactly one of vacancy_id, candidate_id or text (with kind); anything else is a 400 naming `text`."""

        vacancy_id = StrictIntegerField(required=False)
        candidate_id = StrictIntegerField(required=False)
        text = StrictCharField(required=False, trim_whitespace=True, max_length=20_000)
        kind = serializers.ChoiceField(
            choices=Kind.choices, required=False, help_text="what to find for free text: candidates or vacancies"
        )
        k = StrictIntegerField(min_value=1, max_value=MAX_K, default=10)
        filters = serializers.DictField(
            required=False,
            help_text="country, city, languages {en: B2}, custom {}, occupation (ESCO URI), isco (digits)",
        )
        only_matches = serializers.BooleanField(default=False, help_text="only results at or above the threshold")
        requirements = serializers.ChoiceField(
            choices=MODES,
            default=DEFAULT_MODE,
            help_text="the vacancy's requirements (its languages at level, its location unless remote, the custom "
            "fields the tenant declares): filter leaves out rows that miss one, rank lowers their score by the "
            "tenant's penalty per unmet requirement, ignore applies none. Free text has no requirements.",
        )

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
        similarity = serializers.FloatField(
            help_text="(1 - lexical_weight) x the dense cosine + lexical_weight x the character n-gram cosine"
        )
        confidence = serializers.FloatField(
            allow_null=True,
            help_text="the probability that this hit is a right match, from a calibrator fitted per encoder version on "
            "validation data over features of the search (its softmax share among the best 10, cosine, gaps, rank); "
            "null only while the version has no calibrator yet",
        )
        is_match = serializers.BooleanField(allow_null=True, help_text="score >= threshold")
        score = serializers.FloatField(help_text="similarity less the penalty for unmet requirements (rank mode)")
        grade = serializers.ChoiceField(
            choices=GRADES,
            help_text="strong: score >= threshold and confidence >= 0.5; possible: score >= threshold only; weak: "
            "confidence >= 0.5 only; below: neither",
        )
        explanation = ExplanationOut(source="explanation.as_dict")

    class Excluded(serializers.Serializer):
        rule = serializers.CharField()
        removed = serializers.IntegerField(help_text="rows within the filters inside the rule's anchor B")

    class Result(serializers.Serializer):
        encoder = serializers.CharField()
        kind = serializers.CharField()
        threshold = serializers.FloatField(allow_null=True)
        threshold_source = serializers.CharField(allow_null=True, help_text="tenant, global, or null")
        requirements = serializers.ChoiceField(choices=MODES, help_text="the requirements mode used")
        no_strong_match = serializers.BooleanField(help_text="no result is graded strong or possible")
        lexical_weight = serializers.FloatField(
            help_text="the encoder version's weight of the lexical (spelling) cosine in each similarity; 0: dense only"
        )
        excluded = serializers.SerializerMethodField()
        results = serializers.SerializerMethodField()

        def get_excluded(self, result: object) -> list[dict]:
            return SearchApi.Excluded(result.excluded, many=True).data

        def get_results(self, result: object) -> list[dict]:
            return SearchApi.Hit(result.matches, many=True).data

    @api_schema(operation_id="search", tags=["search"], request=Params, responses={200: Result}, errors=(404,))
    def post(self, request: Request) -> Response:
        p = validated(self.Params, request.data)
        options = {
            "filters": SearchFilters.from_params(p.get("filters")),
            "k": p["k"],
            "only_matches": p["only_matches"],
            "requirements": p["requirements"],
        }
        if "vacancy_id" in p:
            record = get_record(tenant=request.tenant, kind=Kind.VACANCIES, record_id=p["vacancy_id"])
            result = search(tenant=request.tenant, target=Kind.CANDIDATES, record=record, **options)
        elif "candidate_id" in p:
            record = get_record(tenant=request.tenant, kind=Kind.CANDIDATES, record_id=p["candidate_id"])
            result = search(tenant=request.tenant, target=Kind.VACANCIES, record=record, **options)
        else:
            result = search(tenant=request.tenant, target=Kind(p["kind"]), text=p["text"], **options)
        return Response(search_json(result))


def _float(value: object) -> float | None:
    return None if value is None else float(value)


def search_json(result: SearchResult) -> dict:
    """What SearchApi.Result serialises, built directly: DRF's serialisers cost a search of 10 hits several ms
    (bench/README.md, "The request path"); tests/api/test_search_json.py holds the two equal."""
    excluded = [{"rule": str(effect.rule), "removed": int(effect.removed)} for effect in result.excluded]
    hits = [
        {
            "id": int(hit.record.pk),
            "kind": str(hit.kind),
            "external_id": str(hit.record.external_id),
            "title": str(hit.record.title),
            "country": str(hit.record.country),
            "city": str(hit.record.city),
            "similarity": float(hit.similarity),
            "confidence": _float(hit.confidence),
            "is_match": None if hit.is_match is None else bool(hit.is_match),
            "score": _float(hit.score),
            "grade": hit.grade,
            "explanation": hit.explanation.as_dict(),
        }
        for hit in result.matches
    ]
    return {
        "encoder": str(result.encoder),
        "kind": str(result.kind),
        "threshold": _float(result.threshold),
        "threshold_source": result.threshold_source,
        "requirements": result.requirements,
        "no_strong_match": result.no_strong_match,
        "lexical_weight": float(result.lexical_weight),
        "excluded": excluded,
        "results": hits,
    }


class SearchParamsSchema(OpenApiSerializerExtension):
    """Search's body as the schema states it: exactly one of vacancy_id, candidate_id or text + kind."""

    target_class = SearchApi.Params

    def map_serializer(self, auto_schema: object, direction: str) -> dict:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        alone = [{"required": ["vacancy_id"]}, {"required": ["candidate_id"]}, {"required": ["text", "kind"]}]
        return schema | {"oneOf": alone}
