"""The beat sweeper: calls Twilio never reported finished are fetched from Twilio and
finished the same way; holds of finished calls are never left behind."""

from datetime import timedelta

from django.test import TestCase
from django.utils import timezone

from billing.models import AuthorizationSettlement, PaymentAuthorization
from callmeback.celery import app as celery_app
from calls import tasks
from calls.models import Call
from calls.services import lifecycle, placing

Status = PaymentAuthorization.Status


def _overdue(call: Call) -> None:
    """Moves the call back in time past its time limit, ring time and the grace, with no
    news since."""
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Call.objects.filter(pk=call.pk).update(created_at=an_hour_ago, updated_at=an_hour_ago)


def _sweep() -> int:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return tasks.sweep_unreported_calls.delay().get()


def test_the_sweeper_finishes_a_call_whose_completed_callback_never_came(place, twilio):
    call = place()
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=200, post=False)
    _overdue(call)

    assert _sweep() == 1

    done = Call.objects.get(pk=call.pk)
    assert (done.status, done.duration, done.cost_cents) == (Call.Status.COMPLETED, 200, 158)
    settlement = AuthorizationSettlement.objects.get(authorization_id=call.authorization_id)
    assert (settlement.kind, settlement.amount) == ("capture", 158)


def test_the_sweeper_releases_the_hold_of_a_call_twilio_reports_unanswered(place, twilio):
    call = place()
    twilio.advance(call.sid, "no-answer", post=False)
    _overdue(call)

    _sweep()

    assert Call.objects.get(pk=call.pk).status == Call.Status.FAILED
    assert PaymentAuthorization.objects.get(pk=call.authorization_id).status == Status.CANCELED


def test_the_sweeper_hangs_up_a_call_twilio_still_runs_past_its_limit(place, twilio):
    call = place()
    twilio.advance(call.sid, "in-progress")
    _overdue(call)

    _sweep()

    assert twilio.calls[call.sid].status == "completed"


def test_the_sweeper_leaves_calls_within_their_time_alone(place, twilio):
    call = place()
    twilio.advance(call.sid, "completed", duration=30, post=False)

    assert _sweep() == 0
    assert Call.objects.get(pk=call.pk).status == Call.Status.INITIATED


def test_the_sweeper_fails_a_call_twilio_does_not_know(place, twilio):
    call = place()
    Call.objects.filter(pk=call.pk).update(sid="CA" + "4" * 32)
    _overdue(call)

    _sweep()

    assert Call.objects.get(pk=call.pk).status == Call.Status.FAILED
    assert PaymentAuthorization.objects.get(pk=call.authorization_id).status == Status.CANCELED


def test_the_sweeper_fails_a_call_that_was_never_dialled(caller, persona, hold, twilio):
    call = placing.call_create(user=caller, phone_number=caller.phone, persona=persona, authorization=hold)
    _overdue(call)

    _sweep()

    done = Call.objects.get(pk=call.pk)
    assert (done.status, done.error_message) == (Call.Status.FAILED, "The call was never dialled.")
    assert PaymentAuthorization.objects.get(pk=hold.pk).status == Status.CANCELED


def test_the_sweeper_settles_a_finished_call_whose_capture_was_lost(place, twilio):
    call = place()
    twilio.advance(call.sid, "in-progress")
    completed = twilio.advance(call.sid, "completed", duration=120, post=False)
    # The callback is applied, but its after-commit capture never runs (a crash).
    lifecycle.call_apply_status(sid=call.sid, params=completed.params)
    Call.objects.filter(pk=call.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert PaymentAuthorization.objects.get(pk=call.authorization_id).status == Status.REQUIRES_CAPTURE

    _sweep()

    assert PaymentAuthorization.objects.get(pk=call.authorization_id).amount_captured == 105


def test_the_sweeper_retries_when_twilio_is_unreachable(place, twilio, settings):
    call = place()
    _overdue(call)
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"

    assert _sweep() == 0
    assert Call.objects.get(pk=call.pk).status == Call.Status.INITIATED


def test_beat_runs_the_sweeper_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["calls-sweep-unreported"]

    assert entry["schedule"] == 60
    assert entry["task"] in celery_app.tasks
