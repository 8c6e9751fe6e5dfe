"""Twilio's status callbacks (`000_*` §7.1, `004_*`): signed, duplicated, late and out of
order, and the hold settled exactly once when the call ends."""

import asyncio
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from django.db import connections
from django.test import Client, TestCase
from twilio.request_validator import RequestValidator

from billing.models import AuthorizationSettlement, PaymentAuthorization
from billing.services import holds as billing_holds
from calls.models import Call, CallRecording
from calls.services import changes, placing
from tests.calls.conftest import SITE_URL
from tests.races import run_together

Status = PaymentAuthorization.Status


def _post(path: str, params: dict, signature: str | None) -> object:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(
            path, data=urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers
        )


def _settlement(call: Call) -> AuthorizationSettlement:
    return AuthorizationSettlement.objects.get(authorization_id=call.authorization_id)


def test_a_call_moves_through_ringing_and_answered_to_completed(place, twilio):
    call = place()

    twilio.advance(call.sid, "initiated")
    twilio.advance(call.sid, "ringing")
    assert Call.objects.get(pk=call.pk).status == Call.Status.INITIATED
    twilio.advance(call.sid, "in-progress")
    answered = Call.objects.get(pk=call.pk)
    assert (answered.status, answered.twilio_status) == (Call.Status.IN_PROGRESS, "in-progress")
    assert answered.start_time is not None
    twilio.advance(call.sid, "completed", duration=330, Price="-0.0265", PriceUnit="USD")

    done = Call.objects.get(pk=call.pk)
    assert (done.status, done.twilio_status, done.duration) == (Call.Status.COMPLETED, "completed", 330)
    assert done.end_time is not None and done.start_time <= done.end_time
    assert done.provider_cost == Decimal("0.0265")
    assert all(response.status_code == 204 for response in twilio.deliver.responses)


def test_the_completed_call_captures_its_cost_on_the_hold(place, twilio, localstripe):
    call = place()
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=200)

    done = Call.objects.get(pk=call.pk)
    # $0.25 + $0.40 * 200/60 = $1.58 (of a $2.25 hold)
    assert done.cost_cents == 158
    assert (_settlement(done).kind, _settlement(done).amount) == ("capture", 158)
    intent = localstripe.get(f"/v1/payment_intents/{done.authorization.payment_intent_id}")
    assert intent["status"] == "succeeded"


def test_a_call_that_reaches_its_time_limit_costs_the_whole_hold(place, twilio):
    call = place()
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=300)

    done = Call.objects.get(pk=call.pk)
    assert (done.cost_cents, done.ended_by) == (225, Call.EndedBy.TIME_LIMIT)
    assert _settlement(done).amount == 225


@pytest.mark.parametrize(
    "status, message",
    [("busy", "busy"), ("no-answer", "Nobody answered"), ("failed", "could not be connected"), ("canceled", "cancel")],
)
def test_a_call_that_never_connected_fails_readably_and_releases_the_hold(place, twilio, status, message):
    call = place()
    twilio.advance(call.sid, "ringing")
    twilio.advance(call.sid, status)

    done = Call.objects.get(pk=call.pk)
    assert (done.status, done.twilio_status, done.cost_cents) == (Call.Status.FAILED, status, 0)
    assert message in done.error_message
    assert (_settlement(done).kind, _settlement(done).amount) == ("release", 0)


def test_a_duplicated_completed_callback_captures_once(place, twilio):
    call = place()
    twilio.advance(call.sid, "in-progress")
    completed = twilio.advance(call.sid, "completed", duration=120, post=False)

    twilio.deliver(completed)
    twilio.deliver(completed)

    assert [response.status_code for response in twilio.deliver.responses] == [204, 204, 204]
    assert AuthorizationSettlement.objects.filter(authorization_id=call.authorization_id).count() == 1
    assert PaymentAuthorization.objects.get(pk=call.authorization_id).amount_captured == 105


def test_callbacks_arriving_out_of_order_never_move_the_call_backwards(place, twilio):
    call = place()
    ringing = twilio.advance(call.sid, "ringing", post=False)
    answered = twilio.advance(call.sid, "in-progress", post=False)
    completed = twilio.advance(call.sid, "completed", duration=90, post=False)

    for callback in (completed, answered, ringing):
        twilio.deliver(callback)

    done = Call.objects.get(pk=call.pk)
    assert (done.status, done.twilio_status, done.duration) == (Call.Status.COMPLETED, "completed", 90)
    assert done.cost_cents == 85


def test_a_late_ringing_callback_does_not_undo_an_answer(place, twilio):
    call = place()
    ringing = twilio.advance(call.sid, "ringing", post=False)
    twilio.advance(call.sid, "in-progress")

    twilio.deliver(ringing)

    assert Call.objects.get(pk=call.pk).status == Call.Status.IN_PROGRESS


def test_a_forged_callback_is_refused_and_changes_nothing(place, twilio):
    call = place()
    completed = twilio.advance(call.sid, "completed", duration=300, post=False)

    response = _post(completed.path, completed.params, "bm90IGEgc2lnbmF0dXJl")

    assert response.status_code == 403
    assert response.json()["error"] == "FORBIDDEN"
    assert Call.objects.get(pk=call.pk).status == Call.Status.INITIATED
    assert PaymentAuthorization.objects.get(pk=call.authorization_id).status == Status.REQUIRES_CAPTURE


def test_a_callback_without_a_signature_is_refused(place, twilio):
    call = place()
    completed = twilio.advance(call.sid, "completed", duration=300, post=False)

    assert _post(completed.path, completed.params, None).status_code == 403
    assert Call.objects.get(pk=call.pk).status == Call.Status.INITIATED


def test_a_callback_with_altered_fields_is_refused(place, twilio):
    call = place()
    completed = twilio.advance(call.sid, "completed", duration=10, post=False)

    response = _post(completed.path, completed.params | {"CallDuration": "1"}, completed.signature)

    assert response.status_code == 403
    assert Call.objects.get(pk=call.pk).duration is None


def test_the_signature_is_checked_against_site_url_not_the_host_header(place, twilio, settings):
    call = place()
    params = {"CallSid": call.sid, "CallStatus": "completed", "CallDuration": "60"}
    path = f"/api/twilio/callback?call={call.pk}"
    signed_for_internal_host = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        f"http://testserver{path}", params
    )

    assert _post(path, params, signed_for_internal_host).status_code == 403
    signed_for_site = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(f"{SITE_URL}{path}", params)
    assert _post(path, params, signed_for_site).status_code == 204


def test_the_query_string_is_part_of_what_is_signed(place, twilio, settings):
    call = place()
    params = {"CallSid": call.sid, "CallStatus": "completed", "CallDuration": "60"}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        f"{SITE_URL}/api/twilio/callback", params
    )

    assert _post(f"/api/twilio/callback?call={call.pk}", params, signature).status_code == 403


def test_the_webhooks_path_takes_the_same_callbacks(place, twilio, settings):
    call = place()
    params = {"CallSid": call.sid, "CallStatus": "in-progress", "SequenceNumber": "2"}
    path = "/webhooks/twilio/call-status"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(f"{SITE_URL}{path}", params)

    assert _post(path, params, signature).status_code == 204
    assert Call.objects.get(pk=call.pk).status == Call.Status.IN_PROGRESS


def test_a_callback_for_an_unknown_call_changes_nothing(twilio, settings, db):
    params = {"CallSid": "CA" + "0" * 32, "CallStatus": "completed", "CallDuration": "60"}
    path = "/api/twilio/callback"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(f"{SITE_URL}{path}", params)

    assert _post(path, params, signature).status_code == 204
    assert not Call.objects.exists()


def test_a_callback_that_overtakes_the_dial_finds_its_call_by_id(caller, persona, twilio, settings):
    hold = billing_holds.authorization_create(user=caller, estimated_duration=5).authorization
    call = placing.call_create(user=caller, phone_number=caller.phone, persona=persona, authorization=hold)
    params = {"CallSid": "CA" + "1" * 32, "CallStatus": "ringing", "SequenceNumber": "1"}
    path = f"/api/twilio/callback?call={call.pk}"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(f"{SITE_URL}{path}", params)

    assert _post(path, params, signature).status_code == 204

    assert Call.objects.get(pk=call.pk).sid == params["CallSid"]


def test_each_status_change_is_sent_to_the_calls_channel_group(place, twilio, channel_layer):
    call = place()
    channel = async_to_sync(channel_layer.new_channel)()
    async_to_sync(channel_layer.group_add)(changes.call_group(call.pk), channel)

    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=61)

    async def receive_two() -> list[dict]:
        return [await asyncio.wait_for(channel_layer.receive(channel), timeout=5) for _ in range(2)]

    first, second = async_to_sync(receive_two)()
    assert (first["type"], first["status"]) == ("call.status", "in-progress")
    assert (second["type"], second["status"], second["duration"], second["cost"]) == (
        "call.status",
        "completed",
        61,
        0.66,
    )


def test_the_recording_status_callback_stores_the_recording(ended_recorded_call, twilio):
    twilio.finish_recording(ended_recorded_call.sid)

    recording = CallRecording.objects.get(call=ended_recorded_call)
    assert recording.sid.startswith("RE")
    assert (recording.status, recording.channels) == ("completed", 2)
    assert recording.duration == twilio.recordings[recording.sid].duration


def test_a_forged_recording_callback_is_refused(ended_recorded_call, twilio):
    callback = twilio.finish_recording(ended_recorded_call.sid, post=False)

    response = _post(callback.path, callback.params, "forged")

    assert response.status_code == 403
    assert not CallRecording.objects.exists()


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="needs PostgreSQL's row locks for a real race"
)
@pytest.mark.django_db(transaction=True)
def test_two_completed_callbacks_at_once_finish_the_call_and_capture_once(place, twilio, front):
    call = place()
    twilio.advance(call.sid, "in-progress")
    completed = twilio.advance(call.sid, "completed", duration=150, post=False)
    statuses: list[int] = []

    def deliver() -> None:
        statuses.append(_post(completed.path, completed.params, completed.signature).status_code)

    run_together(deliver, deliver)

    assert statuses == [204, 204]
    authorization = PaymentAuthorization.objects.get(pk=call.authorization_id)
    assert (authorization.status, authorization.amount_captured) == (Status.CAPTURED, 125)
    assert AuthorizationSettlement.objects.filter(authorization=authorization).count() == 1
    assert len(front.sent("POST", f"/v1/payment_intents/{authorization.payment_intent_id}/capture")) == 1
