"""Money moves once with real workers: two Celery worker processes on the configured broker
(Redis in CI) each get a capture task for the same finished call, as happens when Twilio
sends the completed callback twice."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

from billing.models import AuthorizationSettlement, PaymentAuthorization
from billing.tasks import capture_authorization
from callmeback.celery import app as celery_app
from calls.models import Call
from devtools.processes import database_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connections["default"].vendor != "postgresql",
        reason="worker processes need a database server they can share with the test (CI runs PostgreSQL)",
    ),
]

BASE_DIR = Path(django_settings.BASE_DIR)
WORKER_NAMES = ("capture-a", "capture-b")


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def workers(tmp_path, front):
    """Two worker processes (one task at a time each) on this test's database, broker and localstripe."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "callmeback.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "STRIPE_SECRET_KEY": "",
        "STRIPE_API_BASE": front.url,
        "CELERY_TASK_ALWAYS_EAGER": "False",
    }
    processes, logs, outputs = {}, {}, []
    for name in WORKER_NAMES:
        logs[name] = tmp_path / f"{name}.log"
        command = [sys.executable, "-m", "celery", "-A", "callmeback", "worker", "--pool=solo", "-n", f"{name}@%h"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info", "-f", str(logs[name])]
        processes[name] = subprocess.Popen(command, cwd=BASE_DIR, env=env)
    try:
        _wait_for(
            lambda: len(celery_app.control.ping(timeout=0.5)) >= len(WORKER_NAMES), timeout=60, what="both workers"
        )
        yield logs
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)
        for output in outputs:
            output.close()
        celery_app.conf.task_always_eager = True


def _captures_run_by(log: Path) -> int:
    lines = log.read_text().splitlines() if log.exists() else []
    return sum("billing.tasks.capture_authorization[" in line and " succeeded in " in line for line in lines)


def test_two_worker_processes_capturing_one_call_capture_it_once(workers, place, twilio, front, localstripe):
    call = place()
    twilio.advance(call.sid, "in-progress")
    # The completed callback queues the capture after commit; the broker then delivers the
    # same task a second time (at-least-once delivery, a redelivery after a lost ack).
    twilio.advance(call.sid, "completed", duration=200)
    capture_authorization.delay(str(call.authorization_id), Call.objects.get(pk=call.pk).duration)

    _wait_for(
        lambda: sum(_captures_run_by(log) for log in workers.values()) >= 2, timeout=60, what="both capture tasks"
    )
    assert [_captures_run_by(workers[name]) for name in WORKER_NAMES] == [1, 1], "each worker ran one capture"
    authorization = PaymentAuthorization.objects.get(pk=call.authorization_id)
    assert (authorization.status, authorization.amount_captured) == (PaymentAuthorization.Status.CAPTURED, 158)
    assert AuthorizationSettlement.objects.filter(authorization=authorization).count() == 1
    capture_path = f"/v1/payment_intents/{authorization.payment_intent_id}/capture"
    assert len(front.sent("POST", capture_path)) == 1
    charge = localstripe.get(f"/v1/payment_intents/{authorization.payment_intent_id}")["latest_charge"]
    assert charge["captured"] is True
    assert charge["amount"] - charge["amount_refunded"] == 158
