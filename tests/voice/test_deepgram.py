"""The Deepgram adapter against a loopback server speaking Deepgram's websocket protocol."""

import asyncio
from contextlib import aclosing

import pytest

from devtools.stream_client import silence
from tests.fakes.deepgram import API_KEY, FakeDeepgram, speech
from tests.voice.helpers import collect, eventually
from voice.providers.base import EagerEndOfTurn, ProviderError, SpeechStarted, TranscriptUpdate, TurnResumed
from voice.providers.deepgram import DeepgramStt


@pytest.fixture
def deepgram():
    with FakeDeepgram(utterances=["Hello there, how are you?"], final_delay=0.1, interim_after=0.01) as fake:
        yield fake


def stt(fake: FakeDeepgram, *, model: str = "nova-3", api_key: str = API_KEY) -> DeepgramStt:
    return DeepgramStt(api_key=api_key, api_url=fake.ws_url, model=model)


def is_end_of_turn(event) -> bool:
    return isinstance(event, TranscriptUpdate) and event.end_of_turn


def test_nova_stream_opens_v1_listen_with_token_auth_and_telephone_audio_options(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram)) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            await stream.close()

    asyncio.run(scenario())
    opened = deepgram.streams[0]
    assert opened.path == "/v1/listen"
    assert opened.authorization == f"Token {API_KEY}"
    assert opened.query == {
        "model": "nova-3",
        "encoding": "mulaw",
        "sample_rate": "8000",
        "channels": "1",
        "interim_results": "true",
        "endpointing": "300",
        "utterance_end_ms": "1000",
        "vad_events": "true",
        "smart_format": "true",
    }


def test_audio_reaches_deepgram_byte_for_byte(deepgram):
    frames = [bytes([n % 256]) * 160 for n in range(25)]

    async def scenario():
        async with aclosing(stt(deepgram)) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            for frame in frames:
                await stream.send_audio(frame)
            await stream.close()

    asyncio.run(scenario())
    assert bytes(deepgram.streams[0].audio) == b"".join(frames)


def test_speech_becomes_speech_started_then_interim_then_final_end_of_turn(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram)) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            await stream.send_audio(silence(0.2) + speech(0.5))
            await stream.send_audio(silence(0.2))
            events = await collect(stream.events(), until=is_end_of_turn)
            await stream.close()
            return events

    events = asyncio.run(scenario())
    assert events == [
        SpeechStarted(timestamp=0.2),
        TranscriptUpdate(text="Hello there,", is_final=False, end_of_turn=False),
        TranscriptUpdate(text="Hello there, how are you?", is_final=True, end_of_turn=True),
    ]


def test_utterance_end_closes_a_turn_that_endpointing_left_open(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram)) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            results = deepgram.results_message(deepgram.streams[0], "I was saying", is_final=True, speech_final=False)
            deepgram.push(results)
            deepgram.push({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.2})
            events = await collect(stream.events(), until=is_end_of_turn)
            await stream.close()
            return events

    assert asyncio.run(scenario()) == [
        TranscriptUpdate(text="I was saying", is_final=True, end_of_turn=False),
        TranscriptUpdate(text="", is_final=True, end_of_turn=True),
    ]


def test_utterance_end_after_speech_final_does_not_end_a_second_turn(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram)) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            deepgram.push(deepgram.results_message(deepgram.streams[0], "Yes", is_final=True, speech_final=True))
            deepgram.push({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 0.4})
            deepgram.push({"type": "SpeechStarted", "channel": [0, 1], "timestamp": 2.5})
            events = await collect(stream.events(), until=lambda event: isinstance(event, SpeechStarted))
            await stream.close()
            return events

    assert asyncio.run(scenario()) == [
        TranscriptUpdate(text="Yes", is_final=True, end_of_turn=True),
        SpeechStarted(timestamp=2.5),
    ]


def test_keep_alive_messages_keep_a_quiet_stream_open():
    with FakeDeepgram(idle_timeout=0.3) as fake:

        async def scenario():
            async with aclosing(stt(fake)) as deepgram_stt:
                stream = await deepgram_stt.open_stream()
                for _ in range(8):  # 0.8 s without audio: longer than the idle timeout
                    await stream.keep_alive()
                    await asyncio.sleep(0.1)
                await stream.send_audio(silence(0.02))
                await stream.close()
                await eventually(lambda: fake.streams[0].close_code is not None)

        asyncio.run(scenario())
        assert fake.streams[0].controls == ["KeepAlive"] * 8 + ["CloseStream"]
        assert len(fake.streams[0].audio) == 160
        assert fake.streams[0].close_code == 1000


def test_close_sends_close_stream_and_deepgram_closes_normally(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram)) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            await stream.send_audio(silence(0.1))
            await stream.close()
            await eventually(lambda: deepgram.streams[0].close_code is not None)

    asyncio.run(scenario())
    assert deepgram.streams[0].controls == ["CloseStream"]
    assert deepgram.streams[0].close_code == 1000


def test_flux_model_streams_on_v2_and_reports_turn_events(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram, model="flux-general-en")) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            await stream.send_audio(speech(0.4) + silence(0.2))
            events = await collect(stream.events(), until=is_end_of_turn)
            await stream.close()
            return events

    events = asyncio.run(scenario())
    opened = deepgram.streams[0]
    assert opened.path == "/v2/listen"
    assert opened.query == {"model": "flux-general-en", "encoding": "mulaw", "sample_rate": "8000",
                            "eager_eot_threshold": "0.5"}
    assert events == [
        SpeechStarted(timestamp=0.0),
        TranscriptUpdate(text="Hello there,", is_final=False, end_of_turn=False),
        EagerEndOfTurn(text="Hello there, how are you?"),
        TranscriptUpdate(text="Hello there, how are you?", is_final=True, end_of_turn=True),
    ]


def test_flux_turn_resumed_is_reported(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram, model="flux-general-en")) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            flux = deepgram.streams[0]
            deepgram.push(deepgram.turn_info_message(flux, "EagerEndOfTurn", "I think"))
            deepgram.push(deepgram.turn_info_message(flux, "TurnResumed", "I think"))
            events = await collect(stream.events(), until=lambda event: isinstance(event, TurnResumed))
            await stream.close()
            return events

    assert asyncio.run(scenario()) == [EagerEndOfTurn(text="I think"), TurnResumed()]


def test_a_wrong_key_is_a_provider_error(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram, api_key="wrong")) as deepgram_stt:
            await deepgram_stt.open_stream()

    with pytest.raises(ProviderError):
        asyncio.run(scenario())
    assert deepgram.streams == []


def test_deepgram_refusing_the_handshake_is_a_provider_error():
    async def scenario(fake):
        async with aclosing(stt(fake)) as deepgram_stt:
            await deepgram_stt.open_stream()

    with FakeDeepgram(handshake_status=503) as fake, pytest.raises(ProviderError):
        asyncio.run(scenario(fake))


def test_deepgram_dropping_the_stream_is_a_provider_error():
    with FakeDeepgram(drop_after_audio_bytes=800) as fake:

        async def scenario():
            async with aclosing(stt(fake)) as deepgram_stt:
                stream = await deepgram_stt.open_stream()
                await stream.send_audio(silence(0.1))
                with pytest.raises(ProviderError):
                    await collect(stream.events(), until=lambda event: False)
                with pytest.raises(ProviderError):
                    await stream.send_audio(silence(0.02))

        asyncio.run(scenario())


def test_a_flux_error_message_is_a_provider_error(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram, model="flux-general-en")) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            deepgram.push({"type": "Error", "sequence_id": 1, "code": "INTERNAL_SERVER_ERROR", "description": "boom"})
            with pytest.raises(ProviderError, match="INTERNAL_SERVER_ERROR"):
                await collect(stream.events(), until=lambda event: False)
            await stream.close()

    asyncio.run(scenario())


def test_closing_while_events_are_being_read_ends_them_without_an_error(deepgram):
    async def scenario():
        async with aclosing(stt(deepgram)) as deepgram_stt:
            stream = await deepgram_stt.open_stream()
            reader = asyncio.ensure_future(collect(stream.events(), until=lambda event: False))
            await stream.send_audio(silence(0.1))
            await eventually(lambda: len(deepgram.streams[0].audio) == 800)
            await stream.close()
            return await reader

    assert asyncio.run(scenario()) == []
