"""Who may open a media stream: Twilio only (the signed handshake), for a live call of ours
whose SID, id and persona all match, with the stream token our answer gave that call and
SID, once per call (a replayed handshake and start get no second stream); and the stream
URL the answer hands Twilio."""

import uuid
from xml.etree import ElementTree

import aiohttp
import pytest
import requests
from twilio.request_validator import RequestValidator

from billing.services import payment_methods
from calls.models import Call
from tests.fakes.twilio_media import speech
from tests.voice.live.conftest import hear_the_opening, run, wait_for
from voice.consumers import STREAM_DUPLICATE, STREAM_REFUSED
from voice.streams import CALL_ID_PARAMETER, PERSONA_ID_PARAMETER, STREAM_TOKEN_PARAMETER, stream_token


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


def test_a_start_without_the_stream_token_is_closed(live_call, open_stream):
    stream = open_stream(live_call)
    del stream.custom_parameters[STREAM_TOKEN_PARAMETER]

    assert _closed_after_start(stream) == STREAM_REFUSED
    assert not stream.received.media


def test_a_stream_token_made_for_another_call_is_closed(live_call, open_stream):
    """The ids and SID the API shows are not enough: the token must be the one our answer gave."""
    stream = open_stream(live_call)
    stream.custom_parameters[STREAM_TOKEN_PARAMETER] = stream_token(call_id=str(uuid.uuid4()), call_sid=live_call.sid)

    assert _closed_after_start(stream) == STREAM_REFUSED


def test_a_replayed_start_is_refused_while_the_calls_stream_goes_on(live_call, open_stream):
    first = open_stream(live_call)
    replay = open_stream(live_call, signature=first.signature)  # the captured handshake and start, again

    async def scenario():
        opening_heard = await hear_the_opening(first)
        await replay.open()
        await replay.wait_until(lambda: replay.closed, timeout=10)
        media_before = len(first.received.media)
        first.say(speech("Are you still there?"))
        reply_heard = await first.listen(timeout=15, quiet=0.5)
        await replay.close()
        await first.stop()
        return opening_heard, reply_heard and len(first.received.media) > media_before

    opening_heard, first_goes_on = run(scenario())

    assert opening_heard and first_goes_on
    assert replay.close_code == STREAM_DUPLICATE
    assert not replay.received.media
    assert Call.objects.get(pk=live_call.pk).stream_sid == first.stream_sid


def test_a_call_whose_stream_has_ended_gets_no_second_one(live_call, open_stream):
    first = open_stream(live_call)

    async def scenario():
        await first.open()
        await first.wait_until(lambda: first.received.media, timeout=15)
        await first.stop()

    run(scenario())
    wait_for(lambda: not Call.objects.get(pk=live_call.pk).live_stream_sid, what="the first stream's end recorded")

    assert _closed_after_start(open_stream(live_call)) == STREAM_DUPLICATE
