"""How punctually the dispatcher places booked calls, and that each rings exactly once.

Books N calls (default 10,000) due within the same minute, for N people (one active call
per person), then runs Celery beat, the dispatch workers and a general worker as separate
processes (the production layout) on PostgreSQL and the Redis broker against the local
Twilio, and waits until every booking is dialled or given up. Prints dispatch lateness
(placed, and dialled at Twilio: p50, p95, p99, max), dials per second, our own CPU per
placed call (workers and beat, user + system, from /proc), PostgreSQL's and Redis's CPU
over the same time (every database on the machine), calls placed, duplicates (a number
dialled more than once) and misses (never dialled).

The bookings' holds are written straight to the database (they are only read at dispatch;
localstripe would take minutes to authorise 10,000), and Twilio's status callbacks are off:
the measure is the dispatch, not the call.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/scheduler.py [N]
        [--dispatch-workers 2 --pool prefork --concurrency 4 --cps 1000]
"""

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

LEAD_SECONDS = 45  # time for the processes to start before the first booking is due
SITE_URL = "https://bench.example"


def _cpu_seconds(*, sessions: set[int] | None = None, names: set[str] | None = None) -> float:
    """User + system CPU of the live processes in `sessions` (or named `names`), from /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if (sessions is not None and int(fields[3]) in sessions) or (names is not None and name in names):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _book(count: int, first_due) -> None:
    """N people with a verified number, a hold each, and a booking each, due within one minute."""
    from accounts.models import User, VerifiedPhoneNumber
    from billing.models import PaymentAuthorization
    from calls.scheduling.models import ScheduledCall
    from personas.models import Persona

    persona = Persona.objects.create(
        name="Bench Buddy", voice="21m00Tcm4TlvDq8ikWAM", system_prompt="Be brief.", is_public=True
    )
    people = [
        User(
            email=f"bench{n}@example.com",
            name=f"Bench {n}",
            phone=f"+1415{2_000_000 + n:07d}",
            phone_verified=True,
            password="!",
        )
        for n in range(count)
    ]
    User.objects.bulk_create(people, batch_size=1000)
    VerifiedPhoneNumber.objects.bulk_create(
        [VerifiedPhoneNumber(user=person, phone_number=person.phone) for person in people], batch_size=1000
    )
    holds = [
        PaymentAuthorization(
            user=person,
            payment_intent_id=f"pi_bench_{uuid.uuid4().hex}",
            payment_method_id="pm_bench",
            currency="usd",
            amount_authorized=225,
            estimated_duration=5,
            call_type="scheduled",
            reserved_for=PaymentAuthorization.ReservedFor.BOOKING,
            status=PaymentAuthorization.Status.REQUIRES_CAPTURE,
            expires_at=timezone.now() + timedelta(days=7),
        )
        for person in people
    ]
    PaymentAuthorization.objects.bulk_create(holds, batch_size=1000)
    spread = 60_000_000 // count  # microseconds between bookings: all within the minute
    ScheduledCall.objects.bulk_create(
        [
            ScheduledCall(
                user=person,
                persona=persona,
                persona_name=persona.name,
                phone_number=person.phone,
                scheduled_time=first_due + timedelta(microseconds=n * spread),
                authorization=hold,
                reminder_sms_sent_at=first_due,  # reminders are another sweep; keep them out of the way
                reminder_email_sent_at=first_due,
            )
            for n, (person, hold) in enumerate(zip(people, holds, strict=True))
        ],
        batch_size=1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=10_000)
    parser.add_argument("--dispatch-workers", type=int, default=2)
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--cps", type=float, default=1000, help="TWILIO_CALLS_PER_SECOND: the account's raised limit")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds to wait for the last booking")
    options = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        sys.exit("Run with DATABASE_URL (PostgreSQL) and REDIS_URL set.")

    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    from callmeback.celery import app as celery_app
    from calls.scheduling.models import ScheduledCall
    from devtools.processes import database_url
    from tests.fakes.localstripe_server import LocalStripeServer
    from tests.fakes.twilio import LocalTwilioServer
    from tests.scheduling.processes import CeleryProcesses

    twilio = LocalTwilioServer.shared()
    localstripe = LocalStripeServer.shared()
    celery_app.control.purge()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-scheduler-"))
    processes = CeleryProcesses(
        env={
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_API_BASE": twilio.url,
            "TWILIO_CALLER_ID": twilio.caller_id,
            "SITE_URL": SITE_URL,
            "STRIPE_SECRET_KEY": "",
            "STRIPE_API_BASE": localstripe.url,
            "LOG_LEVEL": "WARNING",
            "TWILIO_CALLS_PER_SECOND": str(options.cps),
        },
        log_dir=log_dir,
    )
    try:
        first_due = timezone.now() + timedelta(seconds=LEAD_SECONDS)
        started = time.monotonic()
        _book(options.count, first_due)
        print(f"booked {options.count} calls in {time.monotonic() - started:.1f} s, due from {first_due:%H:%M:%S} UTC")
        pool = {"pool": options.pool, "concurrency": options.concurrency}
        for n in range(options.dispatch_workers):
            processes.start_worker(f"dispatch{n}", queues="dispatch", **pool)
        processes.start_worker("worker", queues="celery", **pool)
        processes.start_beat()
        sessions = {process.pid for process in processes.processes.values()}
        time.sleep(max(0.0, (first_due - timezone.now()).total_seconds() - 1))  # start-up is not dispatch
        cpu_before = _cpu_seconds(sessions=sessions)
        services_before = _cpu_seconds(names={"postgres", "redis-server"})

        final = (ScheduledCall.Status.MISSED, ScheduledCall.Status.FAILED, ScheduledCall.Status.PAYMENT_FAILED)
        deadline = time.monotonic() + options.timeout
        while time.monotonic() < deadline:
            dialled = ScheduledCall.objects.filter(status=ScheduledCall.Status.PLACED, call__sid__isnull=False).count()
            given_up = ScheduledCall.objects.filter(status__in=final).count()
            print(f"  {timezone.now():%H:%M:%S} dialled {dialled}, given up {given_up}", flush=True)
            if dialled + given_up >= options.count:
                break
            time.sleep(5)
        cpu_used = _cpu_seconds(sessions=sessions) - cpu_before
        services_used = _cpu_seconds(names={"postgres", "redis-server"}) - services_before
        time.sleep(5)  # let the sweeper run a few more times, for any duplicate to show

        bookings = list(
            ScheduledCall.objects.values_list("phone_number", "scheduled_time", "lateness_ms", "status", "call__sid")
        )
        twilio_calls = list(twilio.calls.values())
        reasons = collections.Counter(
            ScheduledCall.objects.exclude(failure_reason="").values_list("failure_reason", flat=True)
        )
    finally:
        processes.stop_all()
        celery_app.control.purge()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    dials: dict[str, list] = {}
    for call in twilio_calls:
        dials.setdefault(call.to, []).append(call.date_created)
    due = {phone: scheduled for phone, scheduled, *_ in bookings}
    placed_lateness = [lateness / 1000 for _, _, lateness, status, _ in bookings if lateness is not None]
    dial_lateness = [(min(created) - due[phone]).total_seconds() for phone, created in dials.items() if phone in due]
    duplicates = sum(len(created) - 1 for created in dials.values())
    misses = sum(1 for phone in due if phone not in dials)
    by_status: dict[str, int] = {}
    for *_, status, _ in bookings:
        by_status[status] = by_status.get(status, 0) + 1

    print()
    sweep_every = settings.CELERY_BEAT_SCHEDULE["calls-scheduling-sweep"]["schedule"]
    print(
        f"{options.count} bookings due within one minute; beat + {options.dispatch_workers} dispatch workers + 1 "
        f"general worker ({options.pool} x {options.concurrency}), PostgreSQL, Redis broker, local Twilio; "
        f"sweep every {sweep_every} s, {options.cps:g} calls/s allowed"
    )
    for label, values in (("placed (row committed)", placed_lateness), ("dialled (at Twilio)", dial_lateness)):
        if values:
            print(
                f"lateness {label:24} p50 {statistics.median(values):7.2f} s   p95 {_percentile(values, 0.95):7.2f} s"
                f"   p99 {_percentile(values, 0.99):7.2f} s   max {max(values):7.2f} s"
            )
    first_dials = sorted(min(created) for created in dials.values())
    if len(first_dials) > 1:
        span = (first_dials[-1] - first_dials[0]).total_seconds()
        print(f"dialled {len(first_dials) / span:.1f} calls/s (first to last dial, {span:.1f} s)")
    placed = max(1, len(twilio_calls))
    print(
        f"our CPU (workers + beat): {cpu_used:.1f} s, {cpu_used / placed * 1000:.1f} ms per placed call; "
        f"PostgreSQL + Redis (whole machine): {services_used:.1f} s"
    )
    print(f"calls placed at Twilio: {len(twilio_calls)}")
    print(f"duplicates (a number dialled twice): {duplicates}")
    print(f"misses (never dialled): {misses}")
    print(f"bookings by status: {dict(sorted(by_status.items()))}")
    if reasons:
        print(f"why bookings were not placed: {dict(reasons.most_common(5))}")
    print(f"worker and beat logs: {log_dir}")


if __name__ == "__main__":
    main()
