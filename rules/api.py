"""REST API for exclusion rules: CRUD within the caller's tenant, and each rule's audit trail."""

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import NOT_BLANK, api_schema

from .selectors import get_rule, list_rules, rule_changes
from .services import Actor, create_rule, delete_rule, update_rule


class RuleOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    trigger_text = serializers.CharField()
    trigger_radius = serializers.FloatField()
    exclude_text = serializers.CharField()
    exclude_radius = serializers.FloatField()
    active = serializers.BooleanField()
    note = serializers.CharField()
    author = serializers.CharField(source="author.username", default=None, allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RuleIn(serializers.Serializer):
    """Documents the body; rules/services.py validates it (one path for API and admin)."""

    name = serializers.RegexField(NOT_BLANK, max_length=200)
    trigger_text = serializers.RegexField(NOT_BLANK, max_length=500, help_text="anchor A")
    trigger_radius = serializers.FloatField(
        min_value=-1, max_value=1, help_text="similarity to anchor A at which the rule fires"
    )
    exclude_text = serializers.RegexField(NOT_BLANK, max_length=500, help_text="anchor B")
    exclude_radius = serializers.FloatField(
        min_value=-1, max_value=1, help_text="similarity to anchor B at which a result is left out"
    )
    active = serializers.BooleanField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, allow_null=True, help_text="null means no note")


class RuleChangeOut(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    actor = serializers.CharField()
    changes = serializers.DictField()


def _actor(request: Request) -> Actor:
    return Actor.of(user=request.user, api_key=request.auth if hasattr(request.auth, "prefix") else None)


class RuleListApi(APIView):
    @api_schema(responses={200: RuleOut(many=True)}, errors=(404, 409))
    def get(self, request: Request) -> Response:
        return Response(RuleOut(list_rules(tenant=request.tenant).order_by("name"), many=True).data)

    @api_schema(request=RuleIn, responses={201: RuleOut}, errors=(404, 409))
    def post(self, request: Request) -> Response:
        rule = create_rule(tenant=request.tenant, data=request.data, actor=_actor(request))
        return Response(RuleOut(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailApi(APIView):
    @api_schema(responses={200: RuleOut}, errors=(404, 409))
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(RuleOut(get_rule(tenant=request.tenant, rule_id=rule_id)).data)

    @api_schema(request=RuleIn, responses={200: RuleOut}, errors=(404, 409))
    def patch(self, request: Request, rule_id: int) -> Response:
        rule = get_rule(tenant=request.tenant, rule_id=rule_id)
        rule = update_rule(tenant=request.tenant, rule=rule, data=request.data, actor=_actor(request), partial=True)
        return Response(RuleOut(rule).data)

    @api_schema(request=RuleIn, responses={200: RuleOut}, errors=(404, 409))
    def put(self, request: Request, rule_id: int) -> Response:
        rule = get_rule(tenant=request.tenant, rule_id=rule_id)
        rule = update_rule(tenant=request.tenant, rule=rule, data=request.data, actor=_actor(request), partial=False)
        return Response(RuleOut(rule).data)

    @api_schema(responses={204: None}, errors=(404, 409))
    def delete(self, request: Request, rule_id: int) -> Response:
        delete_rule(tenant=request.tenant, rule=get_rule(tenant=request.tenant, rule_id=rule_id), actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RuleChangesApi(APIView):
    @api_schema(responses={200: RuleChangeOut(many=True)}, errors=(404, 409))
    def get(self, request: Request, rule_id: int) -> Response:
        rule = get_rule(tenant=request.tenant, rule_id=rule_id)
        return Response(RuleChangeOut(rule_changes(tenant=request.tenant, rule=rule), many=True).data)
