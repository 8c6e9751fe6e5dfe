"""One machine, no accounts: the local Twilio plays the whole call like Twilio (rings, answers
on its own, follows the answer's `<Connect><Stream>`) and its phone page talks to the persona
through the very same consumer, over the phone page's audio socket."""

import asyncio
import time

import aiohttp
import pytest
import requests

from billing import pricing
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from calls.models import Call
from calls.services import placing
from tests.fakes.openai_sse import Reply
from tests.fakes.twilio_media import speech
from tests.voice.live.conftest import run
from tests.voice.live.test_live_call import ANSWER, turns_of, wait_for
from voice.audio import FRAME_BYTES


@pytest.fixture
def autopilot(twilio):
    """The local Twilio plays calls out, answers them, and bridges its phone page."""
    twilio.bridge_phone_audio()
    twilio.autopilot = True
    twilio.twilio.switchboard.set_auto_answer(True)
    yield twilio
    twilio.reset()


def dial(user, persona) -> Call:
    authorization = billing_holds.authorization_create(user=user, estimated_duration=10).authorization
    call = placing.call_create(user=user, phone_number=user.phone, persona=persona, authorization=authorization)
    return placing.call_dial(call=call)


def test_the_phone_page_talks_with_the_persona_through_the_media_stream(autopilot, card_user, persona, deepgram, llm):
    deepgram.utterances = [ANSWER]
    llm.default_reply = Reply(deltas=["Lovely", " to", " hear", " it."])
    call = dial(card_user, persona)
    wait_for(lambda: autopilot.calls[call.sid].stream_url, what="the stream to open")
    origin = autopilot.url

    async def on_the_phone():
        heard: list[tuple[float, int]] = []
        async with aiohttp.ClientSession() as session:
            phone = await session.ws_connect(f"{autopilot.url}/phone/calls/{call.sid}/audio", origin=origin)

            async def speaker():
                async for message in phone:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        heard.append((time.monotonic(), len(message.data)))

            listening = asyncio.create_task(speaker())
            deadline = time.monotonic() + 15
            while not heard and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(1.0)  # the rest of the opening line
            words = speech(ANSWER)
            for offset in range(0, len(words), FRAME_BYTES):  # the microphone, in real time
                await phone.send_bytes(words[offset : offset + FRAME_BYTES])
                await asyncio.sleep(FRAME_BYTES / 8000)
            spoke_at = time.monotonic()
            deadline = spoke_at + 15
            while not any(at > spoke_at for at, _ in heard) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await phone.close()
            listening.cancel()
        return heard, spoke_at

    heard, spoke_at = run(on_the_phone())

    assert heard, "the opening line reached the phone page's speaker"
    assert any(at > spoke_at for at, _ in heard), "the persona answered what the microphone said"
    turns = wait_for(lambda: len(turns_of(call)) >= 2 and turns_of(call), what="the caller's turn")
    assert (turns[1].speaker, turns[1].text) == ("person", ANSWER)

    requests.post(f"{autopilot.url}/phone/calls/{call.sid}/hangup", json={}, timeout=5).raise_for_status()
    wait_for(lambda: Call.objects.get(pk=call.pk).status == Call.Status.COMPLETED, what="the completed callback")
    call.refresh_from_db()
    assert call.duration == autopilot.calls[call.sid].duration
    captured = wait_for(
        lambda: PaymentAuthorization.objects.get(pk=call.authorization_id).amount_captured, what="the capture"
    )
    assert captured == pricing.call_cost_cents(call.duration)


def test_another_site_cannot_join_a_call_on_the_phone_page(autopilot):
    async def join():
        async with aiohttp.ClientSession() as session:
            await session.ws_connect(f"{autopilot.url}/phone/calls/CA123/audio", origin="https://evil.example")

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        run(join())
    assert refused.value.status == 403
