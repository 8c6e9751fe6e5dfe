"""`Idempotency-Key` for requests whose effect must not happen twice (placing a call): the
same key from the same person within `IDEMPOTENCY_KEY_TTL` gets the first request's answer,
status and body, instead of doing the work again; the same key with another body is a
409 IDEMPOTENCY_KEY_REUSED, and a retry while the first is still being answered a 409
IDEMPOTENCY_KEY_IN_USE. Only successes are kept: a refused request may be retried with
its key. Keys past their time are swept (`idempotent_requests_purge`).
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from callmeback.errors import ApplicationError, ValidationFailed
from callmeback.models import IdempotentRequest

HEADER = "Idempotency-Key"
HEADER_PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, description="The same key within 24 h returns the first answer."
)
MAX_KEY_LENGTH = 255
# A first request still unanswered after this long died with its process: its key is free.
ABANDONED_AFTER = timedelta(minutes=2)


class IdempotencyKeyReused(ApplicationError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status_code = 409
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyKeyInUse(ApplicationError):
    code = "IDEMPOTENCY_KEY_IN_USE"
    status_code = 409
    default_message = "A request with this Idempotency-Key is still being answered. Retry in a moment."


def _fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(*, user, scope: str, key: str, fingerprint: str, now: datetime) -> IdempotentRequest | None:
    """Takes the key for this request (returns None), or returns the request that holds it.
    A key past its time, or abandoned unanswered, is taken over."""
    past = Q(created_at__lt=now - settings.IDEMPOTENCY_KEY_TTL)
    abandoned = Q(status_code__isnull=True, created_at__lt=now - ABANDONED_AFTER)
    IdempotentRequest.objects.filter(past | abandoned, user=user, scope=scope, key=key).delete()
    try:
        with transaction.atomic():
            IdempotentRequest.objects.create(user=user, scope=scope, key=key, fingerprint=fingerprint, created_at=now)
        return None
    except IntegrityError:
        held = IdempotentRequest.objects.filter(user=user, scope=scope, key=key).first()
        if held is None:  # its first request failed just now and let go of it
            raise IdempotencyKeyInUse(retry_after=1) from None
        return held


def idempotent(
    *, user, scope: str, key: str | None, body: Any, answer: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Runs `answer` (returning status and body) once per key; without a key, every time."""
    if key is None:
        return answer()
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed.for_field(HEADER, f"Must be 1 to {MAX_KEY_LENGTH} characters.")
    fingerprint = _fingerprint(body)
    held = _claim(user=user, scope=scope, key=key, fingerprint=fingerprint, now=timezone.now())
    if held is not None:
        if held.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if held.status_code is None:
            raise IdempotencyKeyInUse(retry_after=1)
        return held.status_code, held.response
    mine = IdempotentRequest.objects.filter(user=user, scope=scope, key=key)
    try:
        status_code, response = answer()
    except BaseException:
        mine.delete()
        raise
    mine.update(status_code=status_code, response=response)
    return status_code, response


def idempotent_response(request, *, scope: str, answer: Callable[[], Any]) -> Response:
    """An API view's answer (`answer()`, a 200 body) once per `Idempotency-Key` header."""
    key = request.headers.get(HEADER)
    code, body = idempotent(user=request.user, scope=scope, key=key, body=request.data, answer=lambda: (200, answer()))
    return Response(body, status=code)


def idempotent_requests_purge(*, now: datetime | None = None) -> int:
    """Forgets keys past `IDEMPOTENCY_KEY_TTL`; returns how many."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
