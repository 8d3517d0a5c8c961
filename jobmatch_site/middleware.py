import codecs
import json
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import parse_header_parameters


class RequestSizeLimitMiddleware:
    """413 for an API body declared larger than MAX_REQUEST_BYTES, before a byte of it is read.

    Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE only when `request.body` is read, but DRF's parsers read the
    stream directly; the declared length bounds what either can read, so checking it here covers both. Pages keep
    Django's own limits, which exempt file uploads (a CSV import form may take more than the API does).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number", "field": None}, status=400)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            detail = f"the request body is {length} bytes; the limit is {limit}"
            return JsonResponse({"detail": detail, "field": None}, status=413)
        return self.get_response(request)


class Utf8OnlyWsgi:
    """WSGI middleware: 415 for an API request whose Content-Type declares a charset other than UTF-8 (RFC 8259:
    JSON is UTF-8), and for a page request declaring a codec that is not a text encoding.

    It sits in front of Django because WSGIRequest's constructor already decodes the query string with the
    declared charset: Django skips an unknown one, but rot13 is a codec (bytes in, not text out) and raised there,
    before any Django middleware or error handler runs.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        _, params = parse_header_parameters(environ.get("CONTENT_TYPE", ""))
        charset, api = params.get("charset"), environ.get("PATH_INFO", "").startswith("/api/")
        if charset is None or (_is_utf8(charset) if api else _is_text_encoding(charset)):
            return self.app(environ, start_response)
        detail = f"charset {charset[:40]!r} is not supported: send UTF-8"
        if api:
            body, content_type = json.dumps({"detail": detail, "field": None}).encode(), "application/json"
        else:
            body, content_type = detail.encode(), "text/plain; charset=utf-8"
        start_response(
            "415 Unsupported Media Type", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [body]


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


def _is_text_encoding(charset: str) -> bool:
    try:
        codecs.lookup(charset)
    except LookupError:
        return True  # Django ignores a charset it does not know
    try:
        "x".encode(charset)  # not "": an empty string is passed through without asking the codec
    except LookupError:  # a codec, but not text to bytes: rot13, base64
        return False
    except ValueError:
        pass  # a text encoding that lacks "x"
    return True
