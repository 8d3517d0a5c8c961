"""REST API for the tenant's calibrated threshold: what searches use, the target it is fitted to, and refits (run by
a worker: the answer carries the refit's job, whose state GET shows until it is done)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import StrictFloatField, api_schema, validated

from .models import CalibrationTarget, Job
from .selectors import CalibrationState, calibration_state
from .services import request_refit, set_policy


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


class RefitJobOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Job.Status.values)
    message = serializers.CharField(help_text="what the refit did, once it is done")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class CalibrationOut(serializers.Serializer):
    threshold = serializers.FloatField(allow_null=True)
    source = serializers.CharField(allow_null=True, help_text="tenant, global, or null")
    target = serializers.CharField()
    max_false_accept_rate = StrictFloatField(allow_null=True)
    min_labels_per_class = serializers.IntegerField()
    latest_fit = FitOut(allow_null=True)
    refit = RefitJobOut(allow_null=True, help_text="the latest refit: queued, running, done or failed")


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


def _state(state: CalibrationState) -> dict:
    threshold = state.threshold
    return {
        "threshold": None if threshold is None else threshold.value,
        "source": None if threshold is None else threshold.source,
        "target": state.policy.target,
        "max_false_accept_rate": state.policy.max_false_accept_rate,
        "min_labels_per_class": state.min_labels_per_class,
        "latest_fit": None if state.fit is None else FitOut(state.fit).data,
        "refit": None if state.refit is None else RefitJobOut(state.refit).data,
    }


class CalibrationApi(APIView):
    """The threshold searches use now, where it comes from, the tenant's target, its latest fit and refit."""

    required_scope = "admin"

    class Policy(serializers.Serializer):
        target = serializers.ChoiceField(choices=CalibrationTarget.values)
        max_false_accept_rate = OpenRateField(required=False, allow_null=True, help_text="needed by target max_far")

    @api_schema(responses={200: CalibrationOut}, errors=(404, 409))
    def get(self, request: Request) -> Response:
        return Response(_state(calibration_state(tenant=request.tenant)))

    @api_schema(request=Policy, responses={202: CalibrationOut}, errors=(404, 409))
    def put(self, request: Request) -> Response:
        body = validated(self.Policy, request.data)
        set_policy(
            tenant=request.tenant, target=body["target"], max_false_accept_rate=body.get("max_false_accept_rate")
        )
        request_refit(tenant=request.tenant)
        return Response(_state(calibration_state(tenant=request.tenant)), status=status.HTTP_202_ACCEPTED)


class CalibrationRefitApi(APIView):
    required_scope = "admin"

    @api_schema(request=None, responses={202: CalibrationOut}, errors=(404, 409))
    def post(self, request: Request) -> Response:
        request_refit(tenant=request.tenant)
        return Response(_state(calibration_state(tenant=request.tenant)), status=status.HTTP_202_ACCEPTED)
