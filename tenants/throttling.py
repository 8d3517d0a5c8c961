"""Per-key rate limits (DRF throttling): counters in Redis, so every web worker shares them; 429 + Retry-After.

An API-key request is counted by the key lookup's own Redis call (tenants/credentials.py) and the throttle only
reads the verdict; a browser session's user is counted here, all of the view's limits in one call. Either way a
limit holds the requests of the last window (a sorted set), as DRF's SimpleRateThrottle does in a list.
"""

import logging

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .credentials import Limit, Verdict, count

logger = logging.getLogger(__name__)


class CredentialRateThrottle(SimpleRateThrottle):
    """Counts requests per API key (per user for a browser session); the limit comes from settings at call time."""

    setting = "API_RATE_LIMIT"
    scope = "api"

    def __init__(self) -> None:
        super().__init__()  # parses the rate
        self.verdict: Verdict | None = None

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

    @property
    def limit(self) -> Limit | None:
        if self.num_requests is None:
            return None
        return Limit(scope=self.scope, requests=self.num_requests, window_s=float(self.duration))

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if request.auth is not None and getattr(request.auth, "pk", None):
            return f"key{request.auth.prefix}"  # as tenants/credentials.py counts it
        if request.user and request.user.is_authenticated:
            return f"user{request.user.pk}"
        return None  # refused by authentication before any counting matters

    def allow_request(self, request: Request, view: object) -> bool:
        if self.limit is None:
            return True
        self.verdict = getattr(request._request, "rate_verdicts", {}).get(self.scope)
        if self.verdict is None:
            who = self.get_cache_key(request, view)
            if who is None:
                return True
            try:
                throttles = [t for t in view.get_throttles() if isinstance(t, CredentialRateThrottle) and t.limit]
                verdicts = count(who=who, limits=[t.limit for t in throttles])
            except Exception:  # Redis down: the API keeps serving writes (no lost work); limits resume with Redis
                logger.warning("rate-limit store unavailable; %s not counted", self.scope, exc_info=True)
                return True
            request._request.rate_verdicts = verdicts  # the view's other throttles read theirs
            self.verdict = verdicts[self.scope]
        self.now = self.timer()
        return self.verdict.allowed

    def wait(self) -> float | None:
        """Until the oldest counted request leaves the window (DRF's wait with one request available)."""
        if self.verdict is None or self.verdict.allowed or self.verdict.oldest is None:
            return None
        return max(self.duration - (self.now - self.verdict.oldest), 0.0)


class SearchRateThrottle(CredentialRateThrottle):
    """Search encodes free text and walks the HNSW graph: a tighter budget of its own."""

    setting = "API_SEARCH_RATE_LIMIT"
    scope = "search"
