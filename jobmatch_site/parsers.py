"""The request parser, in a module of its own: DRF imports it while settings load, and a module that also imports
rest_framework.views (as api.py does) would be imported half-initialised."""

import codecs
import json
import math

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


class FiniteJSONParser(JSONParser):
    """JSON whose numbers fit a float: 1e400 would parse as inf, which jsonb refuses later (a 500, not a 400)."""

    def parse(self, stream: object, media_type: str | None = None, parser_context: dict | None = None) -> object:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(codecs.getreader(encoding)(stream), parse_float=_finite_float, parse_constant=_refuse)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None


def _refuse(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
