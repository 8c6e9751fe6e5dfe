"""Fixtures shared by every test: clean cache, fast hashing, eager Celery (or a real worker),
API clients, and the app under a real ASGI server for the tests that need one."""

import time
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient

from accounts.tokens import token_pair_issue
from callmeback import ratelimit
from callmeback.celery import app as celery_app
from tests.asgi_server import AsgiServer
from tests.factories import DEFAULT_PASSWORD, UserFactory

# For tests that run real processes (workers, web servers): they share state only through
# Redis and PostgreSQL, which CI provides.
needs_real_processes = pytest.mark.skipif(
    not django_settings.REDIS_URL or connections["default"].vendor != "postgresql",
    reason="real processes share state only through Redis and PostgreSQL (CI provides both)",
)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters and cached lists live in the cache; each test starts empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _rate_limit_windows_start_now(monkeypatch):
    """Pins the rate limiter's clock to the start of a UTC day, where every fixed window
    (second, minute, hour, day) begins: a test's burst of requests never straddles a
    window's edge and gets a fresh allowance halfway through."""
    day_start = time.time() // 86400 * 86400
    monkeypatch.setattr(ratelimit, "clock", lambda: day_start)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """bcrypt at cost 12 is slow on purpose; tests that check it ask for it explicitly."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run inline unless a test starts a real worker (see tests/core/test_celery.py)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker in a thread, on the configured broker (Redis in CI), instead of
    eager tasks: for tests where a countdown matters. It reads through its own database
    connection, so the test commits. Tasks still waiting when the test ends are dropped."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    queues = ["celery", "dispatch"]  # the default queue and booked calls' own
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=queues):
        yield
    celery_app.control.purge()


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def user(user_factory):
    return user_factory()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(user) -> APIClient:
    """An API client signed in as `user` with a bearer token."""
    return client_for(user)


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user).access}")
    return client


@pytest.fixture
def asgi_server(transactional_db) -> Iterator[AsgiServer]:
    """The app under uvicorn in this process (one server for the whole run). After the test,
    and before its database is flushed, waits until the server has finished what the test
    set going (a call's last turns, its hang-up), so the flush never runs under it."""
    server = AsgiServer.shared()
    already_running = server.running_tasks()
    yield server
    server.wait_until_idle(already_running=already_running)
