"""How a call ends: the persona's end_call, the app's hang-up, the time limit, silence, a provider failing."""

import asyncio

from voice.engine.config import ConversationConfig
from voice.providers.base import ProviderError, TextDelta, ToolCall, TranscriptUpdate

from .scripted import FALLBACK_LINE, PhoneCall, ScriptedLlm, reply, run, speech_for

END_CALL = ToolCall(name="end_call", arguments={})
GARDEN_PARTY = "Let me tell you, all about the garden party, and the cake."  # 0.6 s in: "you," is playing
NO_SILENCE_TIMER = ConversationConfig(silence_prompt_seconds=10_000, silence_end_seconds=10_000)


async def caller_says(call: PhoneCall, text: str) -> None:
    await call.until(lambda: call.line.turns)
    await call.hear(TranscriptUpdate(text, is_final=True, end_of_turn=True))


async def persona_telling_the_garden_party() -> PhoneCall:
    """The caller asked what's new; the persona's story has played 0.6 s ("you," is playing)
    and its LLM is still writing."""
    call = PhoneCall(llm=ScriptedLlm(reply(GARDEN_PARTY, asyncio.Event())))
    await call.start()
    await caller_says(call, "What's new?")
    await call.silence(0.6)
    return call


def test_end_call_tool_hangs_up_once_the_goodbye_has_been_heard():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Bye bye, dear!", END_CALL)))
        await call.start()
        await caller_says(call, "I have to go, Grandma.")
        assert call.tts.session.text_of("turn-2") == "Bye bye, dear! "
        await call.silence(0.5)  # the goodbye is still playing
        assert call.line.ended == []
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["persona"]
        assert call.persona_turns()[-1].text == "Bye bye, dear!"

    run(scenario())


def test_a_goodbye_the_caller_interrupts_does_not_hang_up():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Well then, bye bye, my dear Alex!", END_CALL), reply("Yes?")))
        await call.start()
        await caller_says(call, "I have to go, Grandma.")
        await call.silence(0.2)
        await call.hear(TranscriptUpdate("Oh wait, one more thing", is_final=False, end_of_turn=False))
        await call.hear(TranscriptUpdate("Oh wait, one more thing.", is_final=True, end_of_turn=True))
        await call.silence(5)
        assert call.line.ended == []
        assert call.persona_turns()[-1].text == "Yes?"

    run(scenario())


def test_request_end_cancels_the_reply_says_a_short_goodbye_then_hangs_up():
    async def scenario():
        call = await persona_telling_the_garden_party()
        await call.conversation.request_end("app")
        await call.silence(0.02)
        assert call.llm.calls[0].cancelled
        assert call.tts.session.cancelled == ["turn-2"]
        assert call.line.count("clear") == 1
        assert call.tts.session.text_of("turn-3") == "I'm so sorry, I have to go now. Goodbye, Alex! "
        await call.silence(1)
        assert call.line.ended == []
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["app"]
        assert [t.text for t in call.persona_turns()][-2:] == [
            "Let me tell",
            "I'm so sorry, I have to go now. Goodbye, Alex!",
        ]

    run(scenario())


def test_a_goodbye_whose_mark_never_comes_back_still_ends_the_call():
    async def scenario():
        call = PhoneCall()
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.conversation.request_end("admin")
        await call.clock.advance(0.1)  # the line stops echoing marks
        goodbye_seconds = len("I'm so sorry, I have to go now. Goodbye, Alex! ") * 0.05
        await call.clock.advance(goodbye_seconds + 2.5)
        assert call.line.ended == []
        await call.clock.advance(1)
        assert call.line.ended == ["admin"]

    run(scenario())


def test_the_persona_says_goodbye_a_minute_before_the_authorised_time_runs_out():
    async def scenario():
        call = PhoneCall(
            llm=ScriptedLlm(reply("Oh, look at the time! Bye, dear.")), authorized_seconds=300, config=NO_SILENCE_TIMER
        )
        await call.start()
        await call.wait(239.5)
        assert call.llm.calls == []
        await call.wait(1)
        note = call.llm.calls[0].messages[-1]
        assert (note.role, note.content) == ("system", NO_SILENCE_TIMER.time_limit_note)
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["time_limit"]
        assert call.persona_turns()[-1].text == "Oh, look at the time! Bye, dear."

    run(scenario())


def test_the_time_limit_goodbye_waits_for_the_persona_to_finish_its_sentence():
    async def scenario():
        story = "Once upon a time, in a small village, there lived a baker who made the best bread."
        call = PhoneCall(
            llm=ScriptedLlm(reply(story), reply("I must go now, bye!")), authorized_seconds=100, config=NO_SILENCE_TIMER
        )
        await call.start()
        await call.wait(73)
        await caller_says(call, "Tell me a story.")
        await call.wait(2)  # the limit's goodbye is due at 75 s, the story is still playing
        assert len(call.llm.calls) == 1
        await call.until(lambda: call.line.ended)
        assert call.persona_turns()[-2].text == story
        assert call.llm.calls[1].messages[-1].content == NO_SILENCE_TIMER.time_limit_note
        assert call.line.ended == ["time_limit"]

    run(scenario())


def test_silence_gets_a_gentle_prompt_then_a_polite_goodbye():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Alex, are you there?"), reply("Well, bye then, dear.")))
        config = ConversationConfig()
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.silence(7.9)
        assert call.llm.calls == []
        await call.silence(0.2)
        assert call.llm.calls[0].messages[-1].content == config.silence_prompt_note
        await call.until(lambda: len(call.persona_turns()) == 2)
        await call.silence(29.8)
        assert len(call.llm.calls) == 1
        await call.silence(0.3)
        assert call.llm.calls[1].messages[-1].content == config.silence_goodbye_note
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["silence"]

    run(scenario())


def test_the_caller_speaking_restarts_the_silence_timer():
    async def scenario():
        call = PhoneCall()
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.silence(6)
        await call.voice(10)
        await call.silence(6)
        assert call.llm.calls == []
        await call.silence(2.5)
        assert len(call.llm.calls) == 1

    run(scenario())


def test_llm_failure_mid_reply_plays_the_fallback_line_and_ends_cleanly():
    async def scenario():
        stalled = asyncio.Event()
        call = PhoneCall(llm=ScriptedLlm(reply("Well, you see, the thing is", stalled, ProviderError("503"))))
        await call.start()
        await caller_says(call, "What happened?")
        await call.silence(0.3)
        stalled.set()
        await call.silence(0.02)
        fallback = speech_for(FALLBACK_LINE).mulaw
        assert ("clear",) in call.line.sent
        assert call.line.sent[-2] == ("audio", fallback)
        assert call.line.ended == []
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["provider_error"]
        assert call.persona_turns()[-1].text == FALLBACK_LINE
        assert call.stt.stream.closed and call.tts.session.closed

    run(scenario())


def test_recogniser_failure_plays_the_fallback_line_and_ends_cleanly():
    async def scenario():
        call = PhoneCall()
        await call.start()
        await call.until(lambda: call.line.turns)
        call.stt.stream.fail()
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["provider_error"]
        assert call.persona_turns()[-1].text == FALLBACK_LINE

    run(scenario())


def test_speech_synthesis_failure_plays_the_fallback_line_and_ends_cleanly():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Hello there.")))
        await call.start()
        call.tts.session.fail_on_text = True
        await caller_says(call, "Hello?")
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["provider_error"]

    run(scenario())


def test_without_a_fallback_clip_a_provider_failure_hangs_up_at_once():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm([TextDelta("Well"), ProviderError("timeout")]), fallback_audio=None)
        await call.start()
        await caller_says(call, "Hello?")
        assert call.line.ended == ["provider_error"]

    run(scenario())


def test_failing_to_open_the_recogniser_plays_the_fallback_line_after_the_opening():
    async def scenario():
        call = PhoneCall()

        async def refuse():
            raise ProviderError("401 from the recogniser")

        call.stt.open_stream = refuse
        await call.start()
        audio = [item[1] for item in call.line.sent if item[0] == "audio"]
        assert audio[-1] == speech_for(FALLBACK_LINE).mulaw
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["provider_error"]

    run(scenario())


def test_stop_records_what_was_heard_and_closes_the_providers_without_hanging_up():
    async def scenario():
        call = await persona_telling_the_garden_party()
        await call.hear(TranscriptUpdate("Hang on,", is_final=True, end_of_turn=False))
        await call.conversation.stop()
        assert call.line.ended == []
        assert call.stt.stream.closed and call.tts.session.closed
        assert call.llm.calls[0].cancelled
        assert [(t.speaker, t.text, t.interrupted) for t in call.line.turns[-2:]] == [
            ("persona", "Let me tell", True),
            ("person", "Hang on,", False),
        ]

    run(scenario())
