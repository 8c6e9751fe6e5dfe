"""Ending a call that is live on a media stream (`POST /api/calls/:id/end`, the admin's
hang-up): the stream's consumer is asked for the persona's goodbye and cuts the line itself;
a safety net hangs up at Twilio later whatever became of the stream. The consumer's side, on
a real stream, is in `tests/voice/live/test_live_call.py`.

Where the safety net's countdown matters a real worker runs the tasks; the tests commit."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import Client, TestCase

from billing import pricing
from billing.models import AuthorizationSettlement, PaymentAuthorization
from calls import tasks
from calls.models import Call
from calls.services import changes
from tests.factories import UserFactory
from tests.fakes.twilio import wait_until
from voice import services as voice_services

pytestmark = pytest.mark.django_db(transaction=True)

STREAM_SID = "MZ" + "0" * 32
SENTINEL = "test.sentinel"


def _post(client, path: str):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, {}, format="json")


def _hang_up_requests(twilio, sid: str) -> list[str]:
    return [
        r.params.get("Status") for r in twilio.requests if r.method == "POST" and r.path.endswith(f"/Calls/{sid}.json")
    ]


@pytest.fixture
def live_call(place, twilio) -> Call:
    """An answered call whose media stream has started (the consumer marked it live)."""
    call = place()
    twilio.advance(call.sid, "in-progress")
    voice_services.call_stream_opened(call_id=str(call.pk), stream_sid=STREAM_SID)
    return Call.objects.get(pk=call.pk)


@pytest.fixture
def group_listener(channel_layer):
    """A channel in the call's stream group, as the stream's consumer has; `received()` returns what
    reached it before a sentinel sent then (a channel keeps the order it was sent in)."""

    def listen(call: Call):
        group = changes.call_stream_group(call.pk)
        channel = async_to_sync(channel_layer.new_channel)()
        async_to_sync(channel_layer.group_add)(group, channel)

        async def drain() -> list[dict]:
            # One event loop for every receive: the layer binds its receive lock to the first.
            await channel_layer.group_send(group, {"type": SENTINEL})
            messages = []
            while (message := await channel_layer.receive(channel))["type"] != SENTINEL:
                messages.append(message)
            return messages

        return async_to_sync(drain)

    return listen


def _hang_ups(messages: list[dict]) -> list[dict]:
    return [message for message in messages if message["type"] == "call.hangup"]


def test_ending_a_live_call_asks_its_stream_for_a_goodbye_and_keeps_it_in_progress_meanwhile(
    celery_worker, caller_client, live_call, twilio, group_listener
):
    received = group_listener(live_call)

    response = _post(caller_client, f"/api/calls/{live_call.pk}/end")

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Hanging up"
    assert (body["call"]["status"], body["call"]["ended_by"]) == ("in-progress", "user")
    assert [(m["call_id"], m["ended_by"]) for m in _hang_ups(received())] == [(str(live_call.pk), "user")]
    assert _hang_up_requests(twilio, live_call.sid) == []  # the stream hangs up after the goodbye
    assert twilio.calls[live_call.sid].status == "in-progress"


def test_ending_a_live_call_twice_asks_for_one_goodbye(celery_worker, caller_client, live_call, group_listener):
    received = group_listener(live_call)

    first = _post(caller_client, f"/api/calls/{live_call.pk}/end")
    second = _post(caller_client, f"/api/calls/{live_call.pk}/end")

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["call"]["status"] == "in-progress"
    assert len(_hang_ups(received())) == 1


def test_an_admins_hang_up_of_a_live_call_asks_for_the_goodbye_too(celery_worker, live_call, twilio, group_listener):
    received = group_listener(live_call)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    with TestCase.captureOnCommitCallbacks(execute=True):
        admin.post("/admin/calls/call/", {"action": "hang_up", "_selected_action": [str(live_call.pk)]})

    assert [m["ended_by"] for m in _hang_ups(received())] == ["admin"]
    assert _hang_up_requests(twilio, live_call.sid) == []


def test_the_safety_net_hangs_up_a_call_whose_stream_never_answers(
    celery_worker, settings, caller_client, live_call, twilio
):
    settings.CALL_GOODBYE_TIMEOUT_SECONDS = 1  # no consumer will say goodbye: nothing to wait for

    response = _post(caller_client, f"/api/calls/{live_call.pk}/end")

    assert response.json()["call"]["status"] == "in-progress"
    wait_until(lambda: twilio.calls[live_call.sid].status == "completed", timeout=30, message="the safety net")
    assert _hang_up_requests(twilio, live_call.sid) == ["completed"]
    twilio.advance(live_call.sid, "completed", duration=42)
    call = Call.objects.get(pk=live_call.pk)
    assert (call.status, call.ended_by, call.live_stream_sid) == (Call.Status.COMPLETED, Call.EndedBy.USER, "")
    authorization = wait_until(
        lambda: PaymentAuthorization.objects.filter(pk=call.authorization_id, amount_captured__gt=0).first(),
        timeout=30,
        message="the capture",
    )
    assert authorization.amount_captured == pricing.call_cost_cents(42)


def test_the_streams_hang_up_and_the_safety_net_both_running_bill_the_call_once(live_call, twilio):
    twilio.calls[live_call.sid].start_time -= timedelta(seconds=42)  # answered 42 s ago

    voice_services.call_stream_hang_up(call_id=str(live_call.pk), reason="user")  # the stream, after its goodbye
    tasks.hang_up_after_goodbye.delay(str(live_call.pk))  # the safety net, before Twilio's callback came
    twilio.advance(live_call.sid, "completed", duration=twilio.calls[live_call.sid].duration)  # the callback

    assert _hang_up_requests(twilio, live_call.sid) == ["completed", "completed"]  # Twilio refused the second
    call = Call.objects.get(pk=live_call.pk)
    assert (call.status, call.duration, call.ended_by) == (Call.Status.COMPLETED, 42, Call.EndedBy.USER)
    settlement = AuthorizationSettlement.objects.get(authorization_id=call.authorization_id)
    assert (settlement.kind, settlement.amount) == ("capture", pricing.call_cost_cents(42))
    assert PaymentAuthorization.objects.get(pk=call.authorization_id).amount_captured == pricing.call_cost_cents(42)
