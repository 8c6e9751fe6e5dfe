"""The shared Twilio client: the real SDK, every request sent to `TWILIO_API_BASE`, errors as
TWILIO_ERROR. It is driven here through calls' dialling, its busiest user; calls' own
resources are tested in `tests/calls/test_twilio_gateway.py`."""

import pytest

from callmeback import twilio as client
from calls import gateways
from tests.calls.conftest import PHONE, SITE_URL, local_twilio, twilio  # noqa: F401  (the local Twilio, wired in)


def _dial(**overrides) -> gateways.CallData:
    arguments = {
        "to": PHONE,
        "from_": overrides.pop("from_"),
        "answer_url": f"{SITE_URL}/api/voice/answer",
        "status_callback": f"{SITE_URL}/api/twilio/callback",
        "time_limit": 60,
    } | overrides
    return gateways.twilio_call_create(**arguments)


def test_the_base_url_replaces_scheme_and_host_and_keeps_path_and_query():
    http_client = client.BaseUrlHttpClient("http://127.0.0.1:8765")

    rewritten = http_client.rewrite("https://verify.twilio.com/v2/Services/VA1/Verifications?PageSize=50")

    assert rewritten == "http://127.0.0.1:8765/v2/Services/VA1/Verifications?PageSize=50"


def test_api_and_verify_requests_both_reach_the_configured_base(twilio):  # noqa: F811
    call = _dial(from_=twilio.caller_id)
    gateways.twilio_call_fetch(sid=call.sid)
    client.verification_start(to=PHONE)

    paths = [(request.method, request.path) for request in twilio.requests]
    account = f"/2010-04-01/Accounts/{twilio.account_sid}"
    assert paths == [
        ("POST", f"{account}/Calls.json"),
        ("GET", f"{account}/Calls/{call.sid}.json"),
        ("POST", f"/v2/Services/{twilio.verify_service_sid}/Verifications"),
    ]


def test_twilio_refusing_a_request_is_a_twilio_error_with_its_code(twilio):  # noqa: F811
    with pytest.raises(client.TwilioRequestRejected) as refused:
        _dial(from_="+14155550999")

    assert refused.value.code == "TWILIO_ERROR"
    assert refused.value.status_code == 500
    assert refused.value.twilio_code == 21210


def test_wrong_credentials_are_a_twilio_error(twilio, settings):  # noqa: F811
    settings.TWILIO_AUTH_TOKEN = "wrong-token"

    with pytest.raises(client.TwilioServiceError):
        _dial(from_=twilio.caller_id)


def test_an_unknown_call_is_reported_missing(twilio):  # noqa: F811
    with pytest.raises(client.TwilioRequestRejected) as refused:
        gateways.twilio_call_fetch(sid="CA" + "0" * 32)

    assert refused.value.is_missing


def test_without_credentials_nothing_is_sent(twilio, settings):  # noqa: F811
    settings.TWILIO_ACCOUNT_SID = ""

    with pytest.raises(client.TwilioServiceError, match="not configured"):
        _dial(from_=twilio.caller_id)
    assert twilio.requests == []
