"""DRF glue shared by every app's api.py: parameter validation and one error shape."""

import logging
import sys

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError

logger = logging.getLogger(__name__)


class ErrorOut(serializers.Serializer):
    """Every error the API answers, whatever its status."""

    detail = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="the offending input, dotted for nested ones")
    errors = serializers.JSONField(required=False, help_text="per row for bulk requests, per field for validation")


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `field` names it.",
    401: "No credentials, or a revoked or unknown API key.",
    403: "The credentials lack the scope this operation needs.",
    404: "No such object in your tenant; another tenant's object answers exactly the same (the body differs only by "
    "the id it echoes).",
    409: "The external_id is already taken in your tenant.",
    413: "The request body exceeds MAX_REQUEST_BYTES.",
    415: "The body is not JSON, or the Content-Type declares a charset other than UTF-8.",
    429: "Rate limit reached: wait the seconds in Retry-After.",
    503: "The database is unavailable (restarting): retry after Retry-After seconds; upserts are safe to repeat.",
}
RETRY_AFTER = OpenApiParameter(
    "Retry-After", int, OpenApiParameter.HEADER, response=[429, 503], description="seconds to wait before retrying"
)


def api_schema(*, responses: dict, errors: tuple[int, ...] = (), **kwargs: object):  # noqa: ANN201
    """extend_schema with the errors any endpoint may answer (400, 401, 403, 413, 415, 429, 503) plus `errors`."""
    codes = sorted({400, 401, 403, 413, 415, 429, 503, *errors})
    documented = {code: OpenApiResponse(ErrorOut, description=ERROR_DESCRIPTIONS[code]) for code in codes}
    parameters = [*kwargs.pop("parameters", []), RETRY_AFTER]
    return extend_schema(responses=responses | documented, parameters=parameters, **kwargs)


class StrictFloatField(serializers.FloatField):
    """A JSON number only: DRF's FloatField would take true/false (and "0.5") as numbers."""

    def to_internal_value(self, data: object) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string, as the schema promises; DRF's CharField would take 42 and make it "42"."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, as the schema promises; DRF's IntegerField would take "42" and 42.0."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], data: object) -> dict:
    """The serializer's validated data, or a 400 naming the first offending field (an unknown one included)."""
    serializer = serializer_class(data=data)
    if isinstance(data, dict) and (unknown := sorted(set(data) - set(serializer.fields))):
        raise exceptions.ValidationError({unknown[0]: ["unknown field"]})  # a typo is not silently a default
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


NOT_BLANK = r"\S"  # a text the services strip, then refuse when nothing is left


def refuse_unknown_properties(result: dict, generator: object, request: object, public: bool) -> dict:
    """drf-spectacular hook: every object the schema names is closed, as validated() and the services refuse an
    unknown field and every answer carries exactly its serializer's fields."""
    for component in result.get("components", {}).get("schemas", {}).values():
        if component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
    return result


def _first_field(detail: object, prefix: str = "") -> tuple[str | None, str]:
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        name = f"{prefix}.{key}" if prefix else str(key)
        if key == "non_field_errors":
            name = prefix or None
        return _first_field(value, name or "") if isinstance(value, dict | list) else (name, str(value))
    if isinstance(detail, list) and detail:
        return _first_field(detail[0], prefix)
    return (prefix or None, str(detail))


UNAVAILABLE = {"detail": "the database is unavailable; retry shortly", "field": None}
RETRY_AFTER_S = "5"  # a restart's crash recovery takes a few seconds (tests/faults/)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every error is {"detail": str, "field": str | null}; domain errors carry their own status."""
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "field": exc.field}
        if exc.errors is not None:
            body["errors"] = exc.errors
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        return Response({"detail": "not found", "field": None}, status=404)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "the request body is too large", "field": None}, status=413)
    if isinstance(exc, OperationalError | InterfaceError):  # the database restarting: the transaction rolled back
        logger.warning("database unavailable: %s", exc)
        return Response(UNAVAILABLE, status=503, headers={"Retry-After": RETRY_AFTER_S})
    if isinstance(exc, SuspiciousOperation):  # e.g. more query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS
        return Response({"detail": str(exc), "field": None}, status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django logs it and answers a bare 500
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_field(exc.detail)
        response.data = {"detail": message, "field": field or None, "errors": exc.detail}
    else:
        response.data = {"detail": str(getattr(exc, "detail", exc)), "field": None}
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refused before any view (a SuspiciousOperation) answers JSON on the API."""
    if _is_api(request):
        return JsonResponse({"detail": "bad request", "field": None}, status=400)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: the API answers JSON, like every other API error; pages keep Django's."""
    if _is_api(request):
        return JsonResponse({"detail": "not found", "field": None}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a bug, already logged by Django with its traceback; the caller gets no detail of it.

    Or the database is down where no view's error handling reaches: the session and its user are loaded by
    middleware (tenants/middleware.py), so a logged-in browser's request fails there. It gets the API's 503.
    """
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):  # Django calls us inside its except block
        if _is_api(request):
            return JsonResponse(UNAVAILABLE, status=503, headers={"Retry-After": RETRY_AFTER_S})
        page = "<!doctype html><title>Unavailable</title><p>JobMatch is briefly unavailable; retry in a few seconds."
        return HttpResponse(page, status=503, headers={"Retry-After": RETRY_AFTER_S})
    if _is_api(request):
        return JsonResponse({"detail": "internal error; it has been logged", "field": None}, status=500)
    return defaults.server_error(request)
