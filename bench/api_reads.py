"""What the call-history and usage reads cost, through the real ASGI server over HTTP.

Fills a scratch PostgreSQL database with 100,000 calls across 1,000 people (one heavy user
with 10,000 of them, so a deep page is really deep), starts uvicorn on it in a subprocess,
and times over keep-alive HTTP:

  - `GET /health`: a bare JSON view in the same server process (the baseline);
  - `GET /api/calls` page 1, a filtered and cost-sorted page, deep pages (offsets 2,000-10,000);
  - `GET /api/user/usage?months=12`;

each served from the 30-second cache (the same person asking again) and uncached (a
different person, or page, every request), in slices alternating with as many `/health`
requests so a busy machine slows both alike; prints requests per second and the ratio to
`/health`. Rate limits are off so they do not stop the run.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/api_reads.py [requests]
"""

import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")

import django

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from devtools.processes import database_url, free_port  # noqa: E402

BASE_DIR = Path(__file__).resolve().parents[1]
USERS = 1_000
CALLS = 100_000
HEAVY_USER_CALLS = 10_000
BATCH = 5_000


def populate() -> list:
    """Bulk-inserts the people and their calls; returns the users, the heavy one first."""
    from accounts.models import User
    from calls.models import Call

    password = "!"  # unusable: these people never sign in with a password
    users = User.objects.bulk_create(
        User(email=f"bench{i}@example.com", name=f"Bench {i}", phone=f"+1415{i:07d}", password=password)
        for i in range(USERS)
    )
    owners = [users[0]] * HEAVY_USER_CALLS + [users[1 + i % (USERS - 1)] for i in range(CALLS - HEAVY_USER_CALLS)]
    generator = random.Random(7)
    now = timezone.now()
    statuses = [Call.Status.COMPLETED] * 8 + [Call.Status.FAILED] * 2
    batch = []
    for owner in owners:
        status = generator.choice(statuses)
        created = now - timedelta(minutes=generator.randrange(0, 365 * 24 * 60))
        duration = generator.randrange(20, 1800) if status == Call.Status.COMPLETED else 0
        batch.append(
            Call(
                user=owner,
                persona_name=generator.choice(["Best Friend", "Coach", "Grandma", "Night Owl"]),
                phone_number=owner.phone,
                status=status,
                twilio_status="completed" if status == Call.Status.COMPLETED else "no-answer",
                sid=f"CA{generator.getrandbits(128):032x}",
                created_at=created,
                start_time=created,
                end_time=created + timedelta(seconds=duration),
                duration=duration,
                cost_cents=25 + (40 * duration + 30) // 60 if duration else 0,
                error_message="" if duration else "Nobody answered.",
            )
        )
        if len(batch) == BATCH:
            Call.objects.bulk_create(batch)
            batch = []
    Call.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE calls_call")
    return users


def start_server(port: int) -> subprocess.Popen:
    env = os.environ | {
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "60",
        "DEBUG": "False",
        "SECRET_KEY": settings.SECRET_KEY,
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "RATELIMIT_ENABLED": "False",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        *(sys.executable, "-m", "uvicorn", "callmeback.asgi:application", "--host", "127.0.0.1", "--port", str(port)),
        *("--no-access-log", "--lifespan", "off"),  # as scripts/run serves it
    ]
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except requests.ConnectionError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("uvicorn did not start")


def seconds(session: requests.Session, base: str, plan: list[tuple[str, str | None]]) -> float:
    """Wall time of the requests in `plan`: (path, bearer token or None) each."""
    start = time.perf_counter()
    for path, token in plan:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = session.get(f"{base}{path}", headers=headers, timeout=30)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
    return time.perf_counter() - start


def compare(session: requests.Session, base: str, plan: list[tuple[str, str | None]]) -> tuple[float, float]:
    """Requests per second of `plan` and of as many `/health` requests, run in alternating
    slices so a busy machine slows both alike; returns (plan's rate, /health's rate)."""
    slice_size = max(1, len(plan) // 10)
    spent = health = 0.0
    for start in range(0, len(plan), slice_size):
        chunk = plan[start : start + slice_size]
        health += seconds(session, base, [("/health", None)] * len(chunk))
        spent += seconds(session, base, chunk)
    return len(plan) / spent, len(plan) / health


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server: this benchmark measures PostgreSQL.")
    from accounts.tokens import token_pair_issue

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    server = None
    try:
        started = time.perf_counter()
        users = populate()
        print(f"inserted {USERS:,} people and {CALLS:,} calls in {time.perf_counter() - started:.1f} s")
        heavy = token_pair_issue(user=users[0]).access
        people = [token_pair_issue(user=user).access for user in users[1:]]
        since = (timezone.now() - timedelta(days=180)).date().isoformat()
        filtered = f"/api/calls?status=completed&sort=cost_desc&from_date={since}&limit=50"
        usage = "/api/user/usage?months=12"
        # (label, the same request repeated: served from the cache, distinct requests: each a miss)
        reads = [
            ("GET /api/calls (page 1)", [("/api/calls", people[0])] * count, [("/api/calls", t) for t in people]),
            ("GET /api/calls (filtered, by cost)", [(filtered, people[0])] * count, [(filtered, t) for t in people]),
            (
                "GET /api/calls (deep pages, offsets 2k-10k)",
                [("/api/calls?page=400&limit=20", heavy)] * count,
                # Pages 101 to 500 of the heavy user's 500: offsets 2,000 to 9,980.
                [(f"/api/calls?page={500 - i % 400}&limit=20", heavy) for i in range(count)],
            ),
            ("GET /api/user/usage?months=12", [(usage, people[0])] * count, [(usage, t) for t in people]),
        ]
        port = free_port()
        server = start_server(port)
        base = f"http://127.0.0.1:{port}"
        session = requests.Session()
        seconds(session, base, [("/health", None)] * 50)  # warm up
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"database: postgresql, cache: {cache}, server: uvicorn; {count} requests each, keep-alive HTTP")
        print("each read alternates with as many GET /health (a bare JSON view in the same server)")
        for label, repeated, distinct in reads:
            cached, health_cached = compare(session, base, repeated)
            uncached, health_uncached = compare(session, base, distinct[:count])
            print(
                f"{label:46} cached {cached:6.0f} req/s = {health_cached / cached:5.2f}x /health"
                f"   uncached {uncached:6.0f} req/s = {health_uncached / uncached:5.2f}x /health"
                f"   (/health {health_cached:.0f}, {health_uncached:.0f} req/s)"
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
