"""The ElevenLabs adapter against a loopback server speaking its multi-context websocket
and HTTP streaming APIs."""

import asyncio
from contextlib import aclosing

import pytest

from tests.fakes.elevenlabs import API_KEY
from tests.fakes.elevenlabs_tts import FakeElevenLabsTts
from tests.voice.helpers import collect, eventually
from voice.providers.base import AudioChunk, ContextDone, ProviderError, VoiceSettings
from voice.providers.elevenlabs import ElevenLabsTts

VOICE = VoiceSettings(voice_id="21m00Tcm4TlvDq8ikWAM", stability=0.4, similarity=0.8, speed=1.1)


@pytest.fixture
def elevenlabs():
    with FakeElevenLabsTts() as fake:
        yield fake


def tts(fake: FakeElevenLabsTts, *, api_key: str = API_KEY) -> ElevenLabsTts:
    return ElevenLabsTts(api_key=api_key, api_url=fake.url, model="eleven_flash_v2_5")


def done(context_id: str):
    return lambda item: item == ContextDone(context_id)


def test_a_session_opens_the_multi_context_socket_for_the_voice_in_telephone_mu_law(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            session = await speech.open_session(VOICE)
            await session.close()

    asyncio.run(scenario())
    connection = elevenlabs.connections[0]
    assert connection.voice_id == VOICE.voice_id
    assert connection.api_key == API_KEY
    assert connection.query == {
        "model_id": "eleven_flash_v2_5",
        "output_format": "ulaw_8000",
        "sync_alignment": "true",
        "inactivity_timeout": "180",
    }


def test_a_turn_is_spoken_in_the_persona_voice_with_alignment_then_reported_done(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            session = await speech.open_session(VOICE)
            await session.send_text("turn-1", "Hello there, ", flush=True)
            await session.send_text("turn-1", "Sam.")
            await session.finish("turn-1")
            items = await collect(session.audio(), until=done("turn-1"))
            await session.close()
            return items

    items = asyncio.run(scenario())
    chunks = [item for item in items if isinstance(item, AudioChunk)]
    assert items[-1] == ContextDone("turn-1")
    assert "".join(char for chunk in chunks for char, _, _ in chunk.alignment) == "Hello there, Sam."
    assert all(chunk.context_id == "turn-1" for chunk in chunks)
    assert chunks[0].mulaw == elevenlabs.audio_for("Hello there, ")
    assert chunks[0].alignment[:2] == (("H", 0, 60), ("e", 60, 60))
    assert elevenlabs.connections[0].received == [
        {"text": " ", "context_id": "turn-1",
         "voice_settings": {"stability": 0.4, "similarity_boost": 0.8, "speed": 1.1}},
        {"text": "Hello there, ", "context_id": "turn-1", "flush": True},
        {"text": "Sam.", "context_id": "turn-1"},
        {"context_id": "turn-1", "flush": True},
        {"context_id": "turn-1", "close_context": True},
        {"close_socket": True},
    ]


def test_cancel_closes_the_context_on_the_same_socket_and_drops_its_late_audio():
    async def scenario(fake):
        async with aclosing(tts(fake)) as speech:
            session = await speech.open_session(VOICE)
            await session.send_text("turn-1", "This will be interrupted.", flush=True)
            await session.cancel("turn-1")
            await eventually(lambda: fake.connections[0].finals_sent == ["turn-1"])  # its late audio is on the way
            await session.send_text("turn-2", "Oh, go ahead.", flush=True)
            await session.finish("turn-2")
            items = await collect(session.audio(), until=done("turn-2"))
            await session.close()
            return items

    with FakeElevenLabsTts(first_audio_delay=0.05) as fake:
        items = asyncio.run(scenario(fake))
    assert {item.context_id for item in items} == {"turn-2"}
    assert len(fake.connections) == 1
    connection = fake.connections[0]
    assert {"context_id": "turn-1", "close_context": True} in connection.received
    assert connection.contexts["turn-1"].spoken == ["This will be interrupted."]
    assert connection.audio_chunks_sent == 3  # two for turn-1, though only turn-2's one was played


def test_finishing_a_turn_that_said_nothing_is_done_at_once(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            session = await speech.open_session(VOICE)
            await session.finish("turn-1")
            items = await collect(session.audio(), until=done("turn-1"))
            await session.close()
            return items

    assert asyncio.run(scenario()) == [ContextDone("turn-1")]
    assert elevenlabs.connections[0].received == [{"close_socket": True}]


def test_an_error_message_from_elevenlabs_is_a_provider_error(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            session = await speech.open_session(VOICE)
            await session.send_text("turn-1", "Hi.", flush=True)
            await collect(session.audio(), until=lambda item: isinstance(item, AudioChunk))
            elevenlabs.send_raw({"error": "quota_exceeded", "message": "Quota exceeded", "code": 1008})
            with pytest.raises(ProviderError, match="quota_exceeded"):
                await collect(session.audio(), until=lambda item: False)
            await session.close()

    asyncio.run(scenario())


def test_elevenlabs_dropping_the_socket_is_a_provider_error():
    async def scenario(fake):
        async with aclosing(tts(fake)) as speech:
            session = await speech.open_session(VOICE)
            await session.send_text("turn-1", "A sentence long enough for two chunks.", flush=True)
            with pytest.raises(ProviderError):
                await collect(session.audio(), until=lambda item: False)
            with pytest.raises(ProviderError):
                await session.send_text("turn-1", "More.")
            await session.close()

    with FakeElevenLabsTts(drop_after_audio_chunks=1) as fake:
        asyncio.run(scenario(fake))


def test_a_wrong_key_is_a_provider_error(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs, api_key="wrong")) as speech:
            await speech.open_session(VOICE)

    with pytest.raises(ProviderError):
        asyncio.run(scenario())
    assert elevenlabs.connections == []


def test_synthesize_returns_the_whole_clip_as_mu_law_over_http(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            return await speech.synthesize("Hi, it's Ada!", VOICE)

    assert asyncio.run(scenario()) == elevenlabs.audio_for("Hi, it's Ada!")
    synthesis = elevenlabs.syntheses[0]
    assert synthesis.voice_id == VOICE.voice_id
    assert synthesis.api_key == API_KEY
    assert synthesis.query == {"output_format": "ulaw_8000"}
    assert synthesis.body == {
        "text": "Hi, it's Ada!",
        "model_id": "eleven_flash_v2_5",
        "voice_settings": {"stability": 0.4, "similarity_boost": 0.8, "speed": 1.1},
    }


def test_synthesis_failing_is_a_provider_error():
    async def scenario(fake):
        async with aclosing(tts(fake)) as speech:
            await speech.synthesize("Hi.", VOICE)

    with FakeElevenLabsTts(handshake_status=500) as fake, pytest.raises(ProviderError, match="500"):
        asyncio.run(scenario(fake))


def test_closing_the_session_closes_the_socket_cleanly(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            session = await speech.open_session(VOICE)
            await session.close()
            await eventually(lambda: elevenlabs.connections[0].close_code == 1000)
            return [item async for item in session.audio()]

    assert asyncio.run(scenario()) == []


def test_a_socket_elevenlabs_closed_while_idle_reconnects_for_the_next_turn():
    async def scenario(fake):
        async with aclosing(tts(fake)) as speech:
            session = await speech.open_session(VOICE)
            await session.send_text("turn-1", "Hello.", flush=True)
            await session.finish("turn-1")
            await collect(session.audio(), until=done("turn-1"))
            await eventually(lambda: fake.connections[0].closed_for_inactivity)  # the caller talked for ages
            await session.send_text("turn-2", "Where was I?", flush=True)
            await session.finish("turn-2")
            items = await collect(session.audio(), until=done("turn-2"))
            await session.close()
            return items

    with FakeElevenLabsTts(inactivity_timeout=0.2) as fake:
        items = asyncio.run(scenario(fake))
    assert items[-1] == ContextDone("turn-2")
    assert len(fake.connections) == 2


def test_a_socket_closed_for_inactivity_mid_turn_is_a_provider_error():
    async def scenario(fake):
        async with aclosing(tts(fake)) as speech:
            session = await speech.open_session(VOICE)
            await session.send_text("turn-1", "Still thinking", flush=False)  # never flushed nor finished
            with pytest.raises(ProviderError, match="mid-turn"):
                await collect(session.audio(), until=lambda item: False)
            await session.close()

    with FakeElevenLabsTts(inactivity_timeout=0.2) as fake:
        asyncio.run(scenario(fake))


def test_closing_while_audio_is_being_read_ends_it_without_an_error(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            session = await speech.open_session(VOICE)
            reader = asyncio.ensure_future(collect(session.audio(), until=lambda item: False))
            await session.send_text("turn-1", "Hello there. ", flush=True)
            await eventually(lambda: elevenlabs.connections[0].audio_chunks_sent == 1)
            await session.close()
            return await reader

    items = asyncio.run(scenario())  # returned: no error, no hang
    assert all(isinstance(item, AudioChunk) for item in items)
