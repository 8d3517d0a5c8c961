"""The request parser, in a module of its own: DRF imports it while settings load, and a module that also imports
rest_framework.views (as api.py does) would be imported half-initialised.

It is the one boundary for what PostgreSQL cannot store: every string, key and number of a JSON body is checked
here, so no field can forget it (a NUL or a lone surrogate fails in the driver, a 401-digit integer in float(), a
100k-deep array in the json module: each was a 500 once)."""

import json
import math
import re
import sys

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from .errors import DomainError

MAX_JSON_DEPTH = 16  # our deepest body nests 4 levels (a bulk row's custom_fields); deeper is never meant
_NAMED_SEGMENTS = 3  # a refusal for depth names the path this far: "custom_fields.a.0", not 16 segments
_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON's \udfff escape yields one; UTF-8 (and so PostgreSQL) has none
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]')


def unstorable(text: str) -> str | None:
    """Why PostgreSQL text or jsonb cannot hold `text` (a NUL, a lone UTF-16 surrogate), or None when it can."""
    if "\x00" in text:
        return "contains a NUL character"
    if _SURROGATE.search(text):
        return "contains a lone UTF-16 surrogate, which is not Unicode text"
    return None


def _refusal(path: tuple, reason: str) -> DomainError:
    field = ".".join(str(segment) for segment in path) or None
    return DomainError(f"{field or 'the body'} {reason}", field=field)


def refuse_unstorable(document: object) -> None:
    """A 400 naming the first string, key or number of a parsed JSON document that could not be stored, or nesting
    deeper than MAX_JSON_DEPTH; iterative, so a deep document costs no recursion."""
    stack: list[tuple[tuple, object]] = [((), document)]
    while stack:
        path, value = stack.pop()
        reason = None
        if isinstance(value, str):
            reason = unstorable(value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
            reason = "is a number too large for a float"
        elif isinstance(value, float) and not math.isfinite(value):
            reason = "is a number out of a float's range"
        elif isinstance(value, dict | list):
            if len(path) >= MAX_JSON_DEPTH:
                raise _refusal(path[:_NAMED_SEGMENTS], f"nests deeper than {MAX_JSON_DEPTH} levels")
            children = list(value.items() if isinstance(value, dict) else enumerate(value))
            for key, _ in children:
                if isinstance(key, str) and (why := unstorable(key)):
                    raise _refusal(path, f"has a key that {why}")
            stack.extend(((*path, key), item) for key, item in reversed(children))
        if reason:
            raise _refusal(path, reason)


def _path_too_deep(text: str) -> tuple:
    """Where a document too deep for the json module first nests MAX_JSON_DEPTH deep, found by scanning tokens."""
    open_: list[list] = []  # per open container: [is_array, the key or index of the child being read]
    last_string = ""
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("{", "["):
            if len(open_) >= MAX_JSON_DEPTH:
                break
            open_.append([token == "[", 0 if token == "[" else None])
        elif token in ("}", "]") and open_:
            open_.pop()
        elif token == "," and open_ and open_[-1][0]:
            open_[-1][1] += 1
        elif token == ":" and open_:
            open_[-1][1] = json.loads(last_string)
        elif token.startswith('"'):
            last_string = token
    return tuple(label for _, label in open_)


class StorableJSONParser(JSONParser):
    """UTF-8 JSON (RFC 8259; middleware refuses other charsets) whose every value PostgreSQL can store."""

    def parse(self, stream: object, media_type: str | None = None, parser_context: dict | None = None) -> object:
        try:
            text = stream.read().decode("utf-8")
            document = json.loads(text, parse_constant=_refuse)
        except RecursionError:
            raise _refusal(
                _path_too_deep(text)[:_NAMED_SEGMENTS], f"nests deeper than {MAX_JSON_DEPTH} levels"
            ) from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError among them
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        refuse_unstorable(document)
        return document


def _refuse(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
