"""What authentication and rate limiting cost per API request.

Times `GET /api/auth/me` (JWT check, revocation lookup, user load, rate-limit counter)
against `GET /health` (no auth, no limit) in-process through Django's test client, on
whatever DATABASE_URL / REDIS_URL point at, and prints requests per second and the ratio.

    .venv/bin/python bench/auth_overhead.py [requests]
"""

import dataclasses
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")
os.environ["RATELIMIT_ENABLED"] = "True"

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402


def rate(client: APIClient, path: str, requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        response = client.get(path)
        assert response.status_code == 200, response.content
    return requests / (time.perf_counter() - start)


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RATELIMIT_ENABLED = False  # measure the limiter separately below
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from accounts.models import User
        from accounts.tokens import token_pair_issue

        user = User.objects.create_user("bench@example.com", "Bench-Pass1", name="Bench", phone="+15550000000")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user).access}")
        rate(client, "/api/auth/me", 50)  # warm up

        health = rate(client, "/health", requests)
        me = rate(client, "/api/auth/me", requests)
        settings.RATELIMIT_ENABLED = True
        from accounts import api

        never_reached = dataclasses.replace(api.MeApi.rate_limits["GET"], rate=f"{requests * 10}/min")
        api.MeApi.rate_limits = {"GET": never_reached}
        me_limited = rate(client, "/api/auth/me", requests)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    backend = connection.vendor
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(f"database: {backend}, cache: {cache}, {requests} requests each")
    print(f"GET /health                      {health:8.0f} req/s")
    print(f"GET /api/auth/me                 {me:8.0f} req/s   ({health / me:.2f}x the cost of /health)")
    overhead = me / me_limited
    print(f"GET /api/auth/me + rate limit    {me_limited:8.0f} req/s   ({overhead:.2f}x the cost without the limit)")


if __name__ == "__main__":
    main()
