"""POST /api/voice/answer (`001_*`): Twilio-signed; a live call is connected to our media
stream with its parameters, an unknown or finished one gets `<Hangup/>`."""

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from django.test import Client
from twilio.request_validator import RequestValidator

from calls.models import Call
from tests.calls.conftest import SITE_URL
from voice.streams import CALL_ID_PARAMETER, PERSONA_ID_PARAMETER, STREAM_TOKEN_PARAMETER, stream_token


def _answer(call_sid: str, *, query: str = "", token: str, signature: str | None = None):
    params = {"CallSid": call_sid, "CallStatus": "in-progress", "From": "+14155550100", "To": "+14155550123"}
    path = f"/api/voice/answer{query}"
    signed = RequestValidator(token).compute_signature(f"{SITE_URL}{path}", params)
    return Client().post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature if signature is not None else signed},
    )


def test_an_answered_call_is_connected_to_the_media_stream_with_its_parameters_and_stream_token(
    place, twilio, settings
):
    call = place()

    response = _answer(call.sid, query=f"?call={call.pk}", token=settings.TWILIO_AUTH_TOKEN)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert [child.tag for child in root] == ["Connect"]
    stream = root.find("./Connect/Stream")
    assert stream.get("url") == SITE_URL.replace("https://", "wss://") + "/api/voice/stream"
    parameters = {parameter.get("name"): parameter.get("value") for parameter in stream.findall("Parameter")}
    assert parameters == {
        CALL_ID_PARAMETER: str(call.pk),
        PERSONA_ID_PARAMETER: str(call.persona_id),
        STREAM_TOKEN_PARAMETER: stream_token(call_id=str(call.pk), call_sid=call.sid),
    }


def test_the_stream_token_is_bound_to_the_call_and_its_sid_and_keyed_by_the_secret_key(settings):
    token = stream_token(call_id="11111111-1111-1111-1111-111111111111", call_sid="CA" + "1" * 32)

    assert token != stream_token(call_id="22222222-2222-2222-2222-222222222222", call_sid="CA" + "1" * 32)
    assert token != stream_token(call_id="11111111-1111-1111-1111-111111111111", call_sid="CA" + "2" * 32)
    settings.SECRET_KEY = "another-secret-key"
    assert token != stream_token(call_id="11111111-1111-1111-1111-111111111111", call_sid="CA" + "1" * 32)


def test_the_answer_url_twilio_is_given_is_answered_as_signed(place, twilio, settings):
    call = place()
    answer_url = twilio.calls[call.sid].url
    query = answer_url.removeprefix(f"{SITE_URL}/api/voice/answer")

    response = _answer(call.sid, query=query, token=settings.TWILIO_AUTH_TOKEN)

    assert ET.fromstring(response.content).find("./Connect/Stream") is not None


def test_an_unknown_call_is_hung_up(twilio, settings, db):
    response = _answer("CA" + "9" * 32, token=settings.TWILIO_AUTH_TOKEN)

    assert response.status_code == 200
    assert [child.tag for child in ET.fromstring(response.content)] == ["Hangup"]


def test_a_finished_call_is_hung_up(place, twilio, settings):
    call = place()
    Call.objects.filter(pk=call.pk).update(status=Call.Status.COMPLETED)

    response = _answer(call.sid, token=settings.TWILIO_AUTH_TOKEN)

    assert [child.tag for child in ET.fromstring(response.content)] == ["Hangup"]


def test_a_forged_answer_request_is_refused(place, twilio):
    call = place()

    response = _answer(call.sid, token="not-the-auth-token")

    assert (response.status_code, response.json()["error"]) == (403, "FORBIDDEN")


def test_an_answer_request_without_a_signature_is_refused(place, twilio, settings):
    call = place()

    assert _answer(call.sid, token=settings.TWILIO_AUTH_TOKEN, signature="").status_code == 403
