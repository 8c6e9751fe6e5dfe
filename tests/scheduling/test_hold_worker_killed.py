"""No hold survives its worker: a real Celery worker re-authorising a booking is killed
(SIGKILL) after Stripe placed the new hold and before the worker could record the answer;
the sweeper then finds that hold at Stripe and releases it, once. Runs where `REDIS_URL`
and a PostgreSQL `DATABASE_URL` are set (as in CI)."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from billing.models import AuthorizationSettlement, PaymentAuthorization
from billing.services import unused_holds
from callmeback.celery import app as celery_app
from calls.scheduling.models import ScheduledCall
from calls.scheduling.tasks import reauthorize_booking
from devtools.processes import database_url
from tests.calls.conftest import SITE_URL
from tests.conftest import needs_real_processes
from tests.scheduling.helpers import book
from tests.scheduling.processes import CeleryProcesses, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), needs_real_processes]

Status = PaymentAuthorization.Status
# Long enough for a cold worker to start and take the task on a loaded 2-core machine.
WORKER_TIMEOUT = 120


@pytest.fixture
def processes(tmp_path, twilio, front):
    """A worker talking to Stripe through the front, so the test can lose its answer; tasks
    go to it through the broker (the suite's eager mode is restored after the test)."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_BASE": twilio.url,
        "TWILIO_CALLER_ID": twilio.caller_id,
        "TWILIO_VERIFY_SERVICE_SID": twilio.verify_service_sid,
        "SITE_URL": SITE_URL,
        "STRIPE_SECRET_KEY": "",
        "STRIPE_API_BASE": front.url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    running = CeleryProcesses(env=env, log_dir=tmp_path)
    yield running
    running.stop_all()
    celery_app.control.purge()


def test_a_worker_killed_after_stripe_placed_a_hold_leaves_no_hold_after_the_sweep(
    processes, caller, persona, front, localstripe
):
    booking = book(caller, persona, minutes_ahead=120)
    old = booking.authorization
    # The booking's hold ends before its call: it must be replaced.
    PaymentAuthorization.objects.filter(pk=old.pk).update(expires_at=timezone.now() + timedelta(minutes=5))
    stripe_placed_it = threading.Event()
    worker_dead = threading.Event()

    def kill_before_answering() -> None:
        # localstripe has placed the hold; the worker waits for an answer it will never read.
        stripe_placed_it.set()
        worker_dead.wait(WORKER_TIMEOUT)

    front.lose_answer("POST", "/v1/payment_intents", before_answering=kill_before_answering)
    processes.start_worker("w1")
    reauthorize_booking.delay(str(booking.pk))
    wait_for(stripe_placed_it.is_set, timeout=WORKER_TIMEOUT, message="the worker never asked Stripe for the hold")
    processes.stop("w1", kill=True)
    worker_dead.set()

    pending = PaymentAuthorization.objects.get(idempotency_key=f"reauth-{booking.pk}-{old.pk}")
    assert (pending.status, pending.payment_intent_id) == (Status.CREATING, None)
    [intent] = [
        intent
        for intent in localstripe.get("/v1/payment_intents?limit=100")["data"]
        if intent["metadata"].get("authorization_id") == str(pending.pk)
    ]
    assert intent["status"] == "requires_capture"  # held on the card, and the worker is gone

    released = unused_holds.authorizations_sweep_unattached(grace=timedelta(0), creating_grace=timedelta(0))
    released_again = unused_holds.authorizations_sweep_unattached(grace=timedelta(0), creating_grace=timedelta(0))

    assert (released, released_again) == (1, 0)
    assert localstripe.get(f"/v1/payment_intents/{intent['id']}")["status"] == "canceled"
    pending.refresh_from_db()
    assert (pending.status, pending.payment_intent_id) == (Status.CANCELED, intent["id"])
    assert AuthorizationSettlement.objects.filter(authorization=pending, kind="release").count() == 1
    assert len(front.sent("POST", f"/v1/payment_intents/{intent['id']}/cancel")) == 1
    # The booking kept the hold it had; the worker's retry (or the next sweep) re-authorises it.
    booking.refresh_from_db()
    assert (booking.status, booking.authorization_id) == (ScheduledCall.Status.SCHEDULED, old.pk)
    assert AuthorizationSettlement.objects.filter(authorization=old).count() == 0
