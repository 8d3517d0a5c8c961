"""DRF glue shared by every app's api.py: parameter validation and one error shape."""

import logging

from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError

logger = logging.getLogger(__name__)


def validated(serializer_class: type[serializers.Serializer], data: object) -> dict:
    """The serializer's validated data, or a 400 naming the first offending field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


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


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every error is {"detail": str, "field": str | null}; domain errors carry their own status."""
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "field": exc.field}
        if exc.errors is not None:
            body["errors"] = exc.errors
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        return Response({"detail": "not found", "field": None}, status=404)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django logs it and answers a bare 500
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_field(exc.detail)
        response.data = {"detail": message, "field": field or None, "errors": exc.detail}
    else:
        response.data = {"detail": str(getattr(exc, "detail", exc)), "field": None}
    return response
