"""The local stand-ins: espeak-ng speech, PocketSphinx recognition, the scripted persona."""

import asyncio
import sys
from contextlib import aclosing

import pytest

from tests.voice.helpers import collect
from voice.audio import audioop, mulaw_duration_ms, mulaw_to_pcm
from voice.providers.base import (
    AudioChunk,
    ChatMessage,
    ContextDone,
    ProviderError,
    SpeechStarted,
    TextDelta,
    ToolCall,
    ToolSpec,
    TranscriptUpdate,
    VoiceSettings,
)
from voice.providers.local_stt import PocketSphinxStt
from voice.providers.local_tts import EspeakTts, variant_for
from voice.providers.scripted_llm import ScriptedPersonaLlm


def voice_with_variant(variant: str, *, speed: float = 1.0) -> VoiceSettings:
    voice_id = next(f"voice-{n}" for n in range(1000) if variant_for(f"voice-{n}") == variant)
    return VoiceSettings(voice_id=voice_id, stability=0.5, similarity=0.75, speed=speed)


VOICE = voice_with_variant("m3")
SILENCE = b"\xff"  # one 8 kHz mu-law sample of silence
END_CALL = ToolSpec(name="end_call", description="Hang up.", parameters={"type": "object", "properties": {}})


def is_final(event) -> bool:
    return isinstance(event, TranscriptUpdate) and event.end_of_turn


# --- espeak-ng --------------------------------------------------------------------------------


def test_espeak_speaks_a_sentence_as_audible_mu_law_of_plausible_length():
    mulaw = asyncio.run(EspeakTts().synthesize("Hello, this is a test of the local voice.", VOICE))
    assert 1500 <= mulaw_duration_ms(mulaw) <= 6000
    assert audioop.rms(mulaw_to_pcm(mulaw), 2) > 500


def test_espeak_speaks_faster_at_a_higher_speed():
    text = "The quick brown fox jumps over the lazy dog."
    slow = asyncio.run(EspeakTts().synthesize(text, voice_with_variant("m3", speed=0.8)))
    fast = asyncio.run(EspeakTts().synthesize(text, voice_with_variant("m3", speed=1.2)))
    assert len(fast) < len(slow) * 0.85


def test_an_espeak_session_speaks_each_flush_with_alignment_then_reports_the_turn_done():
    async def scenario():
        session = await EspeakTts().open_session(VOICE)
        await session.send_text("turn-1", "Hi there, ", flush=True)
        await session.send_text("turn-1", "how are you?")
        await session.finish("turn-1")
        items = await collect(session.audio(), until=lambda item: isinstance(item, ContextDone))
        await session.close()
        return items

    first, second, done = asyncio.run(scenario())
    assert done == ContextDone("turn-1")
    for chunk, text in ((first, "Hi there, "), (second, "how are you?")):
        assert isinstance(chunk, AudioChunk)
        assert chunk.context_id == "turn-1"
        assert "".join(char for char, _, _ in chunk.alignment) == text
        last_char_start = chunk.alignment[-1][1]
        assert 0 < last_char_start < mulaw_duration_ms(chunk.mulaw)


def test_a_cancelled_espeak_turn_is_never_played_and_the_next_turn_is():
    async def scenario():
        session = await EspeakTts().open_session(VOICE)
        await session.send_text("turn-1", "A long sentence that the caller interrupts straight away.", flush=True)
        await session.cancel("turn-1")
        await session.send_text("turn-2", "Sorry, go on.", flush=True)
        await session.finish("turn-2")
        items = await collect(session.audio(), until=lambda item: isinstance(item, ContextDone))
        await session.close()
        return items

    items = asyncio.run(scenario())
    assert [type(item) for item in items] == [AudioChunk, ContextDone]
    assert {item.context_id for item in items} == {"turn-2"}


# --- PocketSphinx -------------------------------------------------------------------------------


async def hear(mulaw: bytes) -> list:
    """Feeds audio to a local stream in 20 ms frames, as Twilio would, and returns its events."""
    async with aclosing(PocketSphinxStt()) as recogniser:
        stream = await recogniser.open_stream()
        for offset in range(0, len(mulaw), 160):
            await stream.send_audio(mulaw[offset : offset + 160])
        events = await collect(stream.events(), until=is_final, timeout=30)
        await stream.close()
        return events


def test_pocketsphinx_hears_a_word_spoken_by_espeak_and_ends_the_turn_after_silence():
    async def scenario():
        spoken = await EspeakTts().synthesize("goodbye", VOICE)
        return await hear(SILENCE * 4000 + spoken + SILENCE * 8000)

    events = asyncio.run(scenario())
    assert isinstance(events[0], SpeechStarted)
    assert 0.4 <= events[0].timestamp <= 0.6  # the word starts after half a second of silence
    assert events[-1].is_final
    assert "goodbye" in events[-1].text.replace(" ", "")


def test_pocketsphinx_reports_nothing_for_silence():
    async def scenario():
        async with aclosing(PocketSphinxStt()) as recogniser:
            stream = await recogniser.open_stream()
            await stream.send_audio(SILENCE * 16000)
            await stream.close()
            return [event async for event in stream.events()]

    assert asyncio.run(scenario()) == []


def test_a_recogniser_process_that_dies_is_a_provider_error():
    crashing = [sys.executable, "-c", "raise SystemExit(1)"]

    async def scenario():
        spoken = await EspeakTts().synthesize("goodbye", VOICE)
        async with aclosing(PocketSphinxStt(decoder_command=crashing)) as recogniser:
            stream = await recogniser.open_stream()
            await stream.send_audio(SILENCE * 4000 + spoken + SILENCE * 8000)
            with pytest.raises(ProviderError, match="stopped"):
                await collect(stream.events(), until=lambda event: False)
            await stream.close()

    asyncio.run(scenario())


# --- The scripted persona -----------------------------------------------------------------------


SYSTEM = ChatMessage("system", "You love gardening.\n\nYour name is Aunt May.\n\nYou are talking with Sam; be kind.")


def reply(*said: str, tools=(END_CALL,)) -> tuple[str, list[ToolCall]]:
    messages = [SYSTEM, *(ChatMessage("user", text) for text in said)]

    async def scenario():
        return [item async for item in ScriptedPersonaLlm().stream_reply(
            messages=messages, model="scripted", temperature=0.7, tools=tools)]

    items = asyncio.run(scenario())
    return "".join(item.text for item in items if isinstance(item, TextDelta)), [
        item for item in items if isinstance(item, ToolCall)
    ]


def test_the_scripted_persona_streams_its_reply_word_by_word():
    async def scenario():
        return [item async for item in ScriptedPersonaLlm().stream_reply(
            messages=[SYSTEM, ChatMessage("user", "I planted tomatoes")], model="scripted", temperature=0.7)]

    items = asyncio.run(scenario())
    assert len(items) > 3
    assert all(isinstance(item, TextDelta) and len(item.text.split()) == 1 for item in items)


def test_the_scripted_persona_says_goodbye_and_hangs_up_when_the_person_does():
    text, calls = reply("Hello", "Well, goodbye then")
    assert "Goodbye, Sam" in text
    assert calls == [ToolCall(name="end_call", arguments={})]


def test_the_scripted_persona_does_not_hang_up_without_the_end_call_tool():
    text, calls = reply("bye now", tools=())
    assert "Goodbye" in text
    assert calls == []


def test_the_scripted_persona_stays_in_character_when_asked_its_name():
    text, calls = reply("Who is this?")
    assert "Aunt May" in text
    assert calls == []


def test_the_scripted_persona_picks_up_a_word_the_person_used():
    text, _ = reply("I spent the morning with my tomatoes")
    assert "Tomatoes?" in text


@pytest.mark.parametrize("note, expected", [
    ("The other person has been silent for a while. Gently check that they are still there.", "still there"),
    ("The time for this call is almost up. Wrap up now: say a warm, short goodbye.", "Goodbye"),
])
def test_the_scripted_persona_follows_the_engine_notes(note, expected):
    messages = [SYSTEM, ChatMessage("user", "Hello"), ChatMessage("assistant", "Hi Sam!"), ChatMessage("system", note)]

    async def scenario():
        return [item async for item in ScriptedPersonaLlm().stream_reply(
            messages=messages, model="scripted", temperature=0.7, tools=[END_CALL])]

    items = asyncio.run(scenario())
    assert expected in "".join(item.text for item in items)
    assert not any(isinstance(item, ToolCall) for item in items)


def test_the_scripted_persona_opens_with_its_name_when_nothing_was_said_yet():
    text, _ = reply()
    assert text == "Hi, Sam! It's Aunt May. How are you doing?"
