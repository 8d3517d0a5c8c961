from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


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
