"""Calls' Twilio resources (`calls.gateways`) on the shared client, against the local Twilio."""

from calls import gateways
from tests.calls.conftest import PHONE, SITE_URL


def test_a_call_is_read_back_with_its_status_and_duration(twilio):
    call = gateways.twilio_call_create(
        to=PHONE,
        from_=twilio.caller_id,
        answer_url=f"{SITE_URL}/api/voice/answer",
        status_callback=f"{SITE_URL}/api/twilio/callback",
        time_limit=60,
    )
    twilio.advance(call.sid, "in-progress", post=False)
    twilio.advance(call.sid, "completed", duration=42, post=False)

    fetched = gateways.twilio_call_fetch(sid=call.sid)

    assert (fetched.sid, fetched.status, fetched.duration) == (call.sid, "completed", 42)
    assert fetched.end_time is not None


def test_deleting_a_recording_twilio_no_longer_has_succeeds(twilio):
    gateways.twilio_recording_delete(sid="RE" + "0" * 32)

    assert twilio.requests[-1].method == "DELETE"
