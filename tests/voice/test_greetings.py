"""Opening lines and the fallback apology: synthesised once, then served from the cache."""

import asyncio
from contextlib import aclosing

import pytest

from tests.fakes.elevenlabs import API_KEY
from tests.fakes.elevenlabs_tts import FakeElevenLabsTts
from voice.greetings import FALLBACK_LINE, fallback_audio, opening_audio
from voice.providers.base import VoiceSettings
from voice.providers.elevenlabs import ElevenLabsTts

VOICE = VoiceSettings(voice_id="21m00Tcm4TlvDq8ikWAM", stability=0.5, similarity=0.75, speed=1.0)
OPENING = "Hi Sam, it's Aunt May! Have you got a minute?"


@pytest.fixture
def elevenlabs():
    with FakeElevenLabsTts() as fake:
        yield fake


def tts(fake: FakeElevenLabsTts) -> ElevenLabsTts:
    return ElevenLabsTts(api_key=API_KEY, api_url=fake.url, model="eleven_flash_v2_5")


def test_an_opening_line_is_synthesised_once_then_served_from_the_cache(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            return [await opening_audio(speech, OPENING, VOICE) for _ in range(3)]

    clips = asyncio.run(scenario())
    assert clips == [elevenlabs.audio_for(OPENING)] * 3
    assert [synthesis.body["text"] for synthesis in elevenlabs.syntheses] == [OPENING]


def test_calls_starting_together_share_one_synthesis():
    async def scenario(fake):
        async with aclosing(tts(fake)) as speech:
            return await asyncio.gather(*(opening_audio(speech, OPENING, VOICE) for _ in range(20)))

    with FakeElevenLabsTts(first_audio_delay=0.1) as fake:
        clips = asyncio.run(scenario(fake))
    assert set(clips) == {fake.audio_for(OPENING)}
    assert len(fake.syntheses) == 1


def test_other_voice_settings_get_their_own_clip(elevenlabs):
    faster = VoiceSettings(voice_id=VOICE.voice_id, stability=0.5, similarity=0.75, speed=1.15)

    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            await opening_audio(speech, OPENING, VOICE)
            await opening_audio(speech, OPENING, faster)

    asyncio.run(scenario())
    assert [synthesis.body["voice_settings"]["speed"] for synthesis in elevenlabs.syntheses] == [1.0, 1.15]


def test_the_fallback_apology_is_spoken_in_the_persona_voice(elevenlabs):
    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech:
            return await fallback_audio(speech, VOICE)

    assert asyncio.run(scenario()) == elevenlabs.audio_for(FALLBACK_LINE)
    synthesis = elevenlabs.syntheses[0]
    assert (synthesis.voice_id, synthesis.body["text"]) == (VOICE.voice_id, FALLBACK_LINE)


def test_a_failed_synthesis_gives_no_clip_and_is_tried_again_next_time():
    async def scenario(fake):
        async with aclosing(tts(fake)) as speech:
            failed = await opening_audio(speech, OPENING, VOICE)
            fake.handshake_status = None
            return failed, await opening_audio(speech, OPENING, VOICE)

    with FakeElevenLabsTts(handshake_status=503) as fake:
        failed, retried = asyncio.run(scenario(fake))
    assert failed is None
    assert retried == fake.audio_for(OPENING)
    assert len(fake.syntheses) == 2


def test_a_clip_is_kept_beside_its_engine_so_later_calls_skip_the_shared_cache(elevenlabs):
    from django.core.cache import cache

    async def opening(speech):
        return await opening_audio(speech, OPENING, VOICE)

    async def scenario():
        async with aclosing(tts(elevenlabs)) as speech, aclosing(tts(elevenlabs)) as other_process:
            first = await opening(speech)
            from_the_shared_cache = await opening(other_process)
            await cache.aclear()
            return first, from_the_shared_cache, await opening(speech)

    first, from_the_shared_cache, kept = asyncio.run(scenario())
    assert first == from_the_shared_cache == kept == elevenlabs.audio_for(OPENING)
    assert len(elevenlabs.syntheses) == 1
