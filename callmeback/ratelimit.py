"""Fixed-window rate limits kept in the Django cache (Redis when `REDIS_URL` is set).

Each app declares its limits once, in a table `<app>/ratelimits.py` of named `RateLimit`s:

    # accounts/ratelimits.py
    from callmeback.ratelimit import RateLimit

    LOGIN = RateLimit("accounts.login", "5/min", per="ip")       # per client IP
    ME = RateLimit("accounts.me", "30/min")                      # per signed-in user
    # personas/ratelimits.py: per user, or per IP for anonymous readers
    PERSONA_LIST = RateLimit("personas.persona-list", "120/min", anonymous="60/min")

The name is the counter: the API and the dashboard use the same `RateLimit` object, so a
client mixing the two faces gets the allowance once, not twice. An API view lists the
limits of its methods:

    class LoginApi(APIView):
        rate_limits = {"POST": ratelimits.LOGIN}

and `EndpointRateThrottle` (the DRF default throttle) enforces them, leaving the outcome
on the request, where `RateLimitHeadersMiddleware` turns it into `X-RateLimit-*` headers.
A dashboard view counts the same limit before calling the service:

    enforce_rate_limit(request, ratelimits.LOGIN)

A new app adds its own `ratelimits.py`, names its limits `<app>.<endpoint>` and uses them
from both `api.py` and `views.py`; `tests/core/test_ratelimit_tables.py` checks every
table (unique names under the app's prefix) without being told about the new app.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from callmeback.errors import RateLimitExceeded

_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


@dataclass(frozen=True)
class Rate:
    count: int
    period: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        count, _, unit = text.partition("/")
        return cls(int(count), _PERIODS[unit.strip().lower()])


@dataclass(frozen=True)
class RateLimit:
    """A named limit for one operation: per user when signed in (or per IP), `anonymous`
    per IP. Everything that uses the same `RateLimit` counts against one counter, `name`."""

    name: str
    rate: str
    per: Literal["user", "ip"] = "user"
    anonymous: str | None = None

    def for_request(self, request: HttpRequest) -> tuple[Rate, str] | None:
        user = getattr(request, "user", None)
        signed_in = bool(user and user.is_authenticated)
        if self.per == "user" and signed_in:
            return Rate.parse(self.rate), f"user:{user.pk}"
        if self.per == "ip":
            return Rate.parse(self.rate), f"ip:{client_ip(request)}"
        if self.anonymous:
            return Rate.parse(self.anonymous), f"ip:{client_ip(request)}"
        return None


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: int

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def retry_after(self, now: float) -> int:
        return max(1, int(self.reset_at - now))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless `TRUSTED_PROXY_COUNT` proxies are known to sit in front."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "unknown")


# The windows' clock; tests pin it so a burst of requests never straddles a window's edge.
clock: Callable[[], float] = time.time


def consume(scope: str, identity: str, rate: Rate, now: float | None = None) -> RateLimitState:
    """Counts one hit against `scope` for `identity` in the current window, atomically."""
    now = clock() if now is None else now
    window_start = int(now // rate.period) * rate.period
    reset_at = window_start + rate.period
    key = f"ratelimit:{scope}:{identity}:{window_start}"
    cache.add(key, 0, timeout=rate.period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=rate.period + 1)
        count = 1
    return RateLimitState(limit=rate.count, remaining=rate.count - count, reset_at=reset_at)


def enforce_rate_limit(request: HttpRequest, limit: RateLimit) -> None:
    """Counts the request against `limit` and raises `RateLimitExceeded` once the window is used up."""
    if not settings.RATELIMIT_ENABLED:
        return
    resolved = limit.for_request(request)
    if resolved is None:
        return
    rate, identity = resolved
    now = clock()
    state = consume(limit.name, identity, rate, now)
    request.ratelimit = state
    if state.exceeded:
        raise RateLimitExceeded(retry_after=state.retry_after(now))


class EndpointRateThrottle(BaseThrottle):
    """Applies the view's `rate_limits` for the request's method."""

    def allow_request(self, request, view) -> bool:
        limit = getattr(view, "rate_limits", {}).get(request.method)
        if limit is not None:
            # DRF mirrors the authenticated user onto the Django request underneath, and
            # the headers middleware reads the outcome from there.
            enforce_rate_limit(request._request, limit)
        return True
