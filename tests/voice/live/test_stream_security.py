"""Who may open a media stream: Twilio only (the signed handshake), for a live call of ours
whose SID, id and persona all match; and the stream URL the answer hands Twilio."""

import uuid
from xml.etree import ElementTree

import aiohttp
import pytest
import requests
from twilio.request_validator import RequestValidator

from billing.services import payment_methods
from calls.models import Call
from tests.voice.live.conftest import run
from voice.consumers import STREAM_REFUSED
from voice.streams import CALL_ID_PARAMETER, PERSONA_ID_PARAMETER


def test_answer_uses_wss_when_the_site_is_https(live_call, twilio_post, settings, asgi_server):
    settings.SITE_URL = asgi_server.url.replace("http://", "https://")  # what Twilio signs follows SITE_URL
    url = f"{settings.SITE_URL}/api/voice/answer"
    params = {"CallSid": live_call.sid}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    response = requests.post(
        f"{asgi_server.url}/api/voice/answer", data=params, headers={"X-Twilio-Signature": signature}, timeout=10
    )

    stream = ElementTree.fromstring(response.content).find("./Connect/Stream")
    assert stream.get("url") == asgi_server.ws_url.replace("ws://", "wss://") + "/api/voice/stream"


def test_a_forged_handshake_is_refused_before_the_socket_opens(live_call, open_stream):
    stream = open_stream(live_call, signature="forged-signature=")

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        run(stream.open())
    assert refused.value.status == 403
    run(stream.close())


def test_a_handshake_signed_with_another_token_is_refused(live_call, open_stream):
    stream = open_stream(live_call, auth_token="not-our-auth-token")

    with pytest.raises(aiohttp.WSServerHandshakeError):
        run(stream.open())
    run(stream.close())


def _closed_after_start(stream) -> int | None:
    async def scenario():
        await stream.open()
        await stream.wait_until(lambda: stream.closed, timeout=10)
        await stream.close()
        return stream.close_code

    return run(scenario())


def test_a_stream_for_an_unknown_call_is_closed(live_call, open_stream):
    stream = open_stream(live_call)
    stream.custom_parameters[CALL_ID_PARAMETER] = str(uuid.uuid4())

    assert _closed_after_start(stream) == STREAM_REFUSED
    assert not stream.received.media


def test_a_stream_claiming_another_users_call_is_closed(live_call, user_factory, place_call, make_card, open_stream):
    other = user_factory()
    payment_methods.payment_method_add(user=other, payment_method_id=make_card(), set_as_default=True)
    others_call = place_call(other)
    stream = open_stream(live_call)  # our call's SID, with the other person's call id
    stream.custom_parameters[CALL_ID_PARAMETER] = str(others_call.pk)
    stream.custom_parameters[PERSONA_ID_PARAMETER] = str(others_call.persona_id)

    assert _closed_after_start(stream) == STREAM_REFUSED
    assert not stream.received.media


def test_a_stream_for_a_finished_call_is_closed(live_call, open_stream):
    Call.objects.filter(pk=live_call.pk).update(status=Call.Status.COMPLETED)

    assert _closed_after_start(open_stream(live_call)) == STREAM_REFUSED


def test_a_stream_with_a_persona_other_than_the_calls_is_closed(live_call, open_stream):
    stream = open_stream(live_call)
    stream.custom_parameters[PERSONA_ID_PARAMETER] = str(uuid.uuid4())

    assert _closed_after_start(stream) == STREAM_REFUSED
