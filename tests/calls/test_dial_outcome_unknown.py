"""A dial whose answer never came (issue 16): the local Twilio creates the call, then holds
its answer back past our `TWILIO_TIMEOUT_SECONDS`. The call is not failed and keeps its
hold; the status callback or the sweeper settles it, with one ring and one settlement."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from billing.models import AuthorizationSettlement, PaymentAuthorization
from billing.services import holds as billing_holds
from calls.models import Call
from calls.services import lifecycle
from tests.calls.conftest import call_body

Hold = PaymentAuthorization.Status
CALLS = r"/Calls\.json$"


@pytest.fixture
def stalled_dial(settings, twilio):
    """The next dial is created at Twilio, but its answer arrives only after our timeout."""
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    released = twilio.stall_next("POST", CALLS)
    yield released
    released.set()


def _place(client, persona, hold):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/api/call", call_body(persona, hold), format="json")


def _sweep_after_dial_check(settings) -> int:
    later = timezone.now() + timedelta(seconds=settings.CALL_DIAL_CHECK_SECONDS + 1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return lifecycle.calls_sweep(now=later)


def _only_twilio_call(twilio):
    (dialled,) = twilio.calls.values()  # one ring: Twilio holds exactly one call
    return dialled


def _settlements(call: Call) -> list[tuple[str, int]]:
    return list(
        AuthorizationSettlement.objects.filter(authorization_id=call.authorization_id).values_list("kind", "amount")
    )


def test_a_dial_whose_answer_times_out_keeps_the_call_and_its_hold(caller_client, persona, hold, twilio, stalled_dial):
    response = _place(caller_client, persona, hold)

    assert response.status_code == 200
    assert response.json()["call"]["status"] == "initiated"
    call = Call.objects.get()
    assert (call.status, call.sid, call.dial_outcome_unknown) == (Call.Status.INITIATED, None, True)
    assert call.dial_attempted_at is not None
    assert PaymentAuthorization.objects.get(pk=hold.pk).status == Hold.REQUIRES_CAPTURE
    assert _only_twilio_call(twilio).to == call.phone_number


def test_the_callback_of_a_timed_out_dial_settles_it_once(caller_client, persona, hold, twilio, stalled_dial):
    _place(caller_client, persona, hold)
    stalled_dial.set()
    dialled = _only_twilio_call(twilio)

    twilio.advance(dialled.sid, "initiated")
    twilio.advance(dialled.sid, "in-progress")
    twilio.advance(dialled.sid, "completed", duration=120)

    call = Call.objects.get()
    assert (call.sid, call.status, call.duration, call.dial_outcome_unknown) == (
        dialled.sid,
        Call.Status.COMPLETED,
        120,
        False,
    )
    assert _settlements(call) == [("capture", 105)]
    assert len(twilio.calls) == 1


def test_a_person_retrying_while_the_dial_is_unknown_is_not_rung_twice(
    caller_client, persona, hold, twilio, stalled_dial, caller
):
    _place(caller_client, persona, hold)
    second_hold = billing_holds.authorization_create(user=caller, estimated_duration=5).authorization

    response = _place(caller_client, persona, second_hold)

    assert (response.status_code, response.json()["error"]) == (429, "CONCURRENT_CALLS")
    assert len(twilio.calls) == 1


def test_the_sweeper_finds_a_timed_out_dial_at_twilio_and_settles_it_once(
    settings, caller_client, persona, hold, twilio, stalled_dial
):
    _place(caller_client, persona, hold)
    stalled_dial.set()
    dialled = _only_twilio_call(twilio)
    # Twilio played the call out, but none of its callbacks reached us.
    twilio.advance(dialled.sid, "in-progress", post=False)
    twilio.advance(dialled.sid, "completed", duration=200, post=False)

    assert _sweep_after_dial_check(settings) == 1
    _sweep_after_dial_check(settings)

    call = Call.objects.get()
    assert (call.sid, call.status, call.duration, call.cost_cents) == (dialled.sid, Call.Status.COMPLETED, 200, 158)
    assert _settlements(call) == [("capture", 158)]
    assert len(twilio.calls) == 1


def test_the_sweeper_leaves_a_timed_out_dial_alone_until_twilio_had_time_to_create_it(
    caller_client, persona, hold, twilio, stalled_dial
):
    _place(caller_client, persona, hold)

    assert lifecycle.calls_sweep() == 0
    assert Call.objects.get().status == Call.Status.INITIATED


def test_a_dial_found_still_ringing_is_adopted_and_left_ringing(
    settings, caller_client, persona, hold, twilio, stalled_dial
):
    _place(caller_client, persona, hold)
    stalled_dial.set()
    dialled = _only_twilio_call(twilio)
    twilio.advance(dialled.sid, "ringing", post=False)

    _sweep_after_dial_check(settings)

    call = Call.objects.get()
    assert (call.sid, call.twilio_status, call.status) == (dialled.sid, "ringing", Call.Status.INITIATED)
    assert twilio.calls[dialled.sid].status == "ringing"


def test_the_sweeper_fails_an_unanswered_dial_twilio_never_placed_and_releases_its_hold(
    settings, caller_client, persona, hold, twilio
):
    twilio.fail_next("POST", CALLS, status=503, code=20503, message="Service unavailable")
    response = _place(caller_client, persona, hold)
    assert response.status_code == 200
    assert Call.objects.get().dial_outcome_unknown

    _sweep_after_dial_check(settings)

    call = Call.objects.get()
    assert (call.status, call.error_message) == (Call.Status.FAILED, "The phone service did not place the call.")
    assert PaymentAuthorization.objects.get(pk=hold.pk).status == Hold.CANCELED
    assert twilio.calls == {}


def test_another_calls_sid_is_never_taken_for_an_unanswered_dial(settings, caller, persona, place, twilio):
    earlier = place()
    twilio.advance(earlier.sid, "completed", duration=30)
    twilio.fail_next("POST", CALLS, status=503, code=20503, message="Service unavailable")
    later = place()

    _sweep_after_dial_check(settings)

    assert Call.objects.get(pk=later.pk).status == Call.Status.FAILED
    assert Call.objects.get(pk=earlier.pk).sid == earlier.sid


def test_ending_a_call_before_its_sid_is_known_hangs_it_up_once_it_is(
    caller_client, persona, hold, twilio, stalled_dial
):
    _place(caller_client, persona, hold)
    call = Call.objects.get()

    response = caller_client.post(f"/api/calls/{call.pk}/end")

    assert response.status_code == 200
    assert Call.objects.get().ended_by == Call.EndedBy.USER
    stalled_dial.set()
    dialled = _only_twilio_call(twilio)
    assert dialled.status == "queued"

    twilio.advance(dialled.sid, "initiated")

    assert twilio.calls[dialled.sid].status == "canceled"


def test_ending_a_call_whose_dial_is_unknown_hangs_it_up_when_the_sweeper_finds_it(
    settings, caller_client, persona, hold, twilio, stalled_dial
):
    _place(caller_client, persona, hold)
    caller_client.post(f"/api/calls/{Call.objects.get().pk}/end")
    stalled_dial.set()
    dialled = _only_twilio_call(twilio)
    twilio.advance(dialled.sid, "ringing", post=False)

    _sweep_after_dial_check(settings)

    assert twilio.calls[dialled.sid].status == "canceled"
