"""Per-key rate limits (DRF throttling): counters in Redis, so every web worker shares them; 429 + Retry-After."""

import logging

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class CredentialRateThrottle(SimpleRateThrottle):
    """Counts requests per API key (per user for a browser session); the limit comes from settings at call time."""

    setting = "API_RATE_LIMIT"
    scope = "api"

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if request.auth is not None and getattr(request.auth, "pk", None):
            ident = f"key{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user{request.user.pk}"
        else:
            return None  # refused by authentication before any counting matters
        return f"throttle:{self.scope}:{ident}"

    def allow_request(self, request: Request, view: object) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # Redis down: the API keeps serving writes (no lost work); limits resume with Redis
            logger.warning("rate-limit store unavailable; %s not counted", self.scope, exc_info=True)
            return True


class SearchRateThrottle(CredentialRateThrottle):
    """Search encodes free text and walks the HNSW graph: a tighter budget of its own."""

    setting = "API_SEARCH_RATE_LIMIT"
    scope = "search"
