"""The Twilio gateway: the real SDK, every request sent to `TWILIO_API_BASE`, errors as TWILIO_ERROR."""

import pytest

from calls import twilio as gateway
from tests.calls.conftest import PHONE, SITE_URL


def _dial(**overrides) -> gateway.CallData:
    arguments = {
        "to": PHONE,
        "from_": overrides.pop("from_"),
        "answer_url": f"{SITE_URL}/api/voice/answer",
        "status_callback": f"{SITE_URL}/api/twilio/callback",
        "time_limit": 60,
    } | overrides
    return gateway.call_create(**arguments)


def test_the_base_url_replaces_scheme_and_host_and_keeps_path_and_query():
    client = gateway.BaseUrlHttpClient("http://127.0.0.1:8765")

    rewritten = client.rewrite("https://verify.twilio.com/v2/Services/VA1/Verifications?PageSize=50")

    assert rewritten == "http://127.0.0.1:8765/v2/Services/VA1/Verifications?PageSize=50"


def test_api_and_verify_requests_both_reach_the_configured_base(twilio):
    call = _dial(from_=twilio.caller_id)
    gateway.call_fetch(sid=call.sid)
    gateway.verification_start(to=PHONE)

    paths = [(request.method, request.path) for request in twilio.requests]
    account = f"/2010-04-01/Accounts/{twilio.account_sid}"
    assert paths == [
        ("POST", f"{account}/Calls.json"),
        ("GET", f"{account}/Calls/{call.sid}.json"),
        ("POST", f"/v2/Services/{twilio.verify_service_sid}/Verifications"),
    ]


def test_a_call_is_read_back_with_its_status_and_duration(twilio):
    call = _dial(from_=twilio.caller_id)
    twilio.advance(call.sid, "in-progress", post=False)
    twilio.advance(call.sid, "completed", duration=42, post=False)

    fetched = gateway.call_fetch(sid=call.sid)

    assert (fetched.sid, fetched.status, fetched.duration) == (call.sid, "completed", 42)
    assert fetched.end_time is not None


def test_twilio_refusing_a_request_is_a_twilio_error_with_its_code(twilio):
    with pytest.raises(gateway.TwilioRequestRejected) as refused:
        _dial(from_="+14155550999")

    assert refused.value.code == "TWILIO_ERROR"
    assert refused.value.status_code == 500
    assert refused.value.twilio_code == 21210


def test_wrong_credentials_are_a_twilio_error(twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong-token"

    with pytest.raises(gateway.TwilioServiceError):
        _dial(from_=twilio.caller_id)


def test_an_unknown_call_is_reported_missing(twilio):
    with pytest.raises(gateway.TwilioRequestRejected) as refused:
        gateway.call_fetch(sid="CA" + "0" * 32)

    assert refused.value.is_missing


def test_without_credentials_nothing_is_sent(twilio, settings):
    settings.TWILIO_ACCOUNT_SID = ""

    with pytest.raises(gateway.TwilioServiceError, match="not configured"):
        _dial(from_=twilio.caller_id)
    assert twilio.requests == []


def test_deleting_a_recording_twilio_no_longer_has_succeeds(twilio):
    gateway.recording_delete(sid="RE" + "0" * 32)

    assert twilio.requests[-1].method == "DELETE"
