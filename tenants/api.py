"""REST API for a tenant's own API keys (scope `admin`): list, create (the secret is shown once), revoke."""

from drf_spectacular.utils import extend_schema_serializer, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import StrictCharField, api_schema, validated

from .models import ApiKey
from .selectors import get_api_key, list_api_keys
from .services import ALL_SCOPES, create_api_key, revoke_api_key


class ApiKeyOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="the part of the key after jm_, up to the next _; not secret")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES))
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreated(ApiKeyOut):
    key = serializers.CharField(help_text="the whole key, shown in this response only: it is stored as a hash")


@extend_schema_view(
    get=api_schema(operation_id="api_keys_list", tags=["api keys"], responses={200: ApiKeyOut(many=True)}),
)
class ApiKeyListApi(APIView):
    required_scope = "admin"

    @extend_schema_serializer(component_name="ApiKeyIn")  # "Body" alone would clash with the feedback body
    class Body(serializers.Serializer):
        name = StrictCharField(max_length=100)
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=ALL_SCOPES), allow_empty=False, max_length=len(ALL_SCOPES)
        )

    def get(self, request: Request) -> Response:
        return Response(ApiKeyOut(list_api_keys(tenant=request.tenant), many=True).data)

    @api_schema(operation_id="api_keys_create", tags=["api keys"], request=Body, responses={201: ApiKeyCreated})
    def post(self, request: Request) -> Response:
        body = validated(self.Body, request.data)
        key, plaintext = create_api_key(
            tenant=request.tenant,
            name=body["name"],
            scopes=body["scopes"],
            created_by=request.user if getattr(request.user, "is_authenticated", False) else None,  # None: a key
            granted_by=request._request.tenant_scopes,
        )
        return Response(ApiKeyOut(key).data | {"key": plaintext}, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    required_scope = "admin"

    @api_schema(operation_id="api_keys_retrieve", tags=["api keys"], responses={200: ApiKeyOut}, errors=(404,))
    def get(self, request: Request, key_id: int) -> Response:
        return Response(ApiKeyOut(get_api_key(tenant=request.tenant, key_id=key_id)).data)

    @api_schema(
        operation_id="api_keys_revoke",
        tags=["api keys"],
        responses={204: None},
        errors=(404,),
        description="Revoke the key: it is refused from now on (revoking twice is harmless).",
    )
    def delete(self, request: Request, key_id: int) -> Response:
        key: ApiKey = get_api_key(tenant=request.tenant, key_id=key_id)
        revoke_api_key(key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)
