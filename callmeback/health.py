"""Liveness and readiness probes for load balancers and orchestrators."""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from callmeback.celery import app as celery_app

logger = logging.getLogger(__name__)


@require_GET
def health(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok", "timestamp": timezone.now().isoformat()})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = f"readiness:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=5)
    if cache.get(key) != "ok":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


_CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@require_GET
def readiness(request):
    """Every backing service answers; 503 names the ones that do not."""
    results = {}
    for name, check in _CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a probe reports every failure, whatever its type
            logger.warning("Readiness check %s failed: %s", name, exc.__class__.__name__)
            results[name] = "unavailable"
    status = 200 if all(value == "ok" for value in results.values()) else 503
    return JsonResponse(results, status=status)
