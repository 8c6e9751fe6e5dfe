"""Barge-in: the caller talking over the persona, and what the persona is taken to have said."""

import asyncio

from voice.engine.turn_taking import InterruptionStrategy
from voice.providers.base import SpeechStarted, TranscriptUpdate

from .scripted import PhoneCall, Script, ScriptedLlm, reply, run

# Clauses of 4, 11, 6 and 33 characters: at 50 ms a character the fourth starts 1.05 s in.
LONG_REPLY = "Oh, I am well, dear. Let me tell you about my garden, the roses are blooming."
HEARD_AT_1_54_S = "Oh, I am well, dear. Let me"  # "tell" is still being spoken 0.49 s into the fourth clause


async def persona_mid_reply(
    *more: Script, interruptions: InterruptionStrategy | None = None, seconds: float = 1.44
) -> tuple[PhoneCall, asyncio.Event]:
    """A call where the caller has asked a question and the persona's long reply has been
    playing `seconds`; its stream is kept open (the LLM still writing) until the returned
    event is set, and the LLM answers the next requests with `more`."""
    still_writing = asyncio.Event()
    call = PhoneCall(llm=ScriptedLlm(reply(LONG_REPLY, still_writing), *more), interruptions=interruptions)
    await call.start()
    await call.until(lambda: call.line.turns)
    await call.hear(TranscriptUpdate("How are you?", is_final=True, end_of_turn=True))
    await call.silence(seconds)
    return call, still_writing


def test_sustained_voice_over_the_persona_sends_clear_on_the_sixth_frame():
    async def scenario():
        call, _ = await persona_mid_reply()
        await call.voice(5)
        assert call.line.count("clear") == 0
        await call.voice(1)
        assert call.line.count("clear") == 1
        assert [round(ms) for ms in call.conversation.metrics.barge_in_ms] == [100]  # frames 1..6, fake clock

    run(scenario())


def test_recogniser_speech_start_lets_three_voiced_frames_stop_the_persona():
    async def scenario():
        call, _ = await persona_mid_reply()
        await call.voice(2)
        await call.hear(SpeechStarted(timestamp=3.0))
        assert call.line.count("clear") == 0
        await call.voice(1)
        assert call.line.count("clear") == 1

    run(scenario())


def test_confirmed_barge_in_cancels_the_llm_request_and_the_tts_context():
    async def scenario():
        call, _ = await persona_mid_reply()
        await call.voice(8)
        await call.hear(TranscriptUpdate("Wait, stop", is_final=False, end_of_turn=False))
        assert call.llm.calls[0].cancelled
        assert call.tts.session.cancelled == ["turn-2"]
        assert call.line.count("clear") == 1

    run(scenario())


def test_interrupted_turn_is_cut_to_the_words_heard_and_flushed_marks_do_not_count():
    async def scenario():
        call, _ = await persona_mid_reply(reply("Of course, go on."))
        marks_sent = call.line.count("mark")
        await call.voice(8)
        await call.hear(TranscriptUpdate("Wait, stop", is_final=False, end_of_turn=False))
        # the clear made the line echo every mark still outstanding, the playing chunk's included
        assert call.line.count("mark") == marks_sent
        interrupted = call.persona_turns()[1]
        assert (interrupted.text, interrupted.interrupted) == (HEARD_AT_1_54_S, True)

        await call.hear(TranscriptUpdate("Wait, stop, I have news.", is_final=True, end_of_turn=True))
        history = [(m.role, m.content) for m in call.llm.calls[1].messages[1:]]
        assert history[-2:] == [("assistant", HEARD_AT_1_54_S), ("user", "Wait, stop, I have news.")]
        assert [t.speaker for t in call.line.turns] == ["persona", "person", "persona", "person"]

    run(scenario())


def test_a_cough_does_not_stop_the_persona():
    async def scenario():
        call, still_writing = await persona_mid_reply()
        await call.voice(4)
        still_writing.set()
        await call.until(lambda: len(call.persona_turns()) == 2)
        assert call.line.count("clear") == 0
        assert (call.persona_turns()[1].text, call.persona_turns()[1].interrupted) == (LONG_REPLY, False)

    run(scenario())


def test_a_backchannel_pauses_the_persona_which_then_resumes_from_the_interrupted_word():
    async def scenario():
        call, still_writing = await persona_mid_reply()
        await call.voice(15)
        assert call.line.count("clear") == 1
        clear_at = call.line.sent.index(("clear",))
        await call.hear(TranscriptUpdate("Mm-hm.", is_final=True, end_of_turn=True))
        await call.silence(0.7)
        resent = call.line.sent[clear_at + 1]
        assert resent[0] == "audio"
        assert len(resent[1]) == len("tell you about my garden, ") * 50 * 8  # from the start of "tell"
        still_writing.set()
        await call.until(lambda: len(call.persona_turns()) == 2)
        assert not call.llm.calls[0].cancelled
        assert call.tts.session.cancelled == []
        assert (call.persona_turns()[1].text, call.persona_turns()[1].interrupted) == (LONG_REPLY, False)
        assert call.person_turns() == [call.line.turns[1]]  # the "mm-hm" is not a turn

    run(scenario())


def test_the_persona_hearing_its_own_echo_does_not_interrupt_it():
    async def scenario():
        call, _ = await persona_mid_reply()
        await call.hear(TranscriptUpdate("I am well dear", is_final=False, end_of_turn=False))
        await call.hear(TranscriptUpdate("I am well dear.", is_final=True, end_of_turn=True))
        assert call.line.count("clear") == 0
        assert call.tts.session.cancelled == []
        assert len(call.person_turns()) == 1

    run(scenario())


def test_recognised_words_interrupt_even_when_the_voice_is_too_quiet_for_the_vad():
    async def scenario():
        call, _ = await persona_mid_reply()
        await call.hear(TranscriptUpdate("Hold on a second", is_final=False, end_of_turn=False))
        assert call.line.count("clear") == 1
        assert call.tts.session.cancelled == ["turn-2"]
        assert call.persona_turns()[1].interrupted
        assert call.conversation.metrics.barge_in_ms == []  # no voiced frame to measure from

    run(scenario())


def test_a_second_of_voice_commits_the_barge_in_before_any_transcript():
    async def scenario():
        call, _ = await persona_mid_reply()
        await call.voice(40)
        assert call.tts.session.cancelled == []  # paused, waiting for words
        await call.voice(20)
        assert call.tts.session.cancelled == ["turn-2"]
        assert call.llm.calls[0].cancelled
        assert call.line.count("clear") == 1

    run(scenario())


def test_a_goodbye_the_app_asked_for_cannot_be_talked_over():
    async def scenario():
        call = PhoneCall()
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.conversation.request_end("admin")
        await call.silence(0.3)
        await call.voice(20)
        await call.hear(TranscriptUpdate("No wait, please", is_final=False, end_of_turn=False))
        await call.hear(TranscriptUpdate("No wait, please.", is_final=True, end_of_turn=True))
        assert call.line.count("clear") == 0
        assert call.person_turns()[-1].text == "No wait, please."  # heard and kept, but not answered
        assert call.llm.calls == []
        await call.until(lambda: call.line.ended)
        assert call.line.ended == ["admin"]

    run(scenario())


def test_a_backchannel_without_an_end_of_turn_is_not_carried_into_the_next_utterance():
    async def scenario():
        call, still_writing = await persona_mid_reply(reply("Yes, on Sunday."))
        await call.hear(TranscriptUpdate("Yeah.", is_final=True, end_of_turn=False))
        still_writing.set()
        await call.until(lambda: len(call.persona_turns()) == 2)
        await call.hear(TranscriptUpdate("", is_final=True, end_of_turn=True))  # the utterance-end
        assert len(call.llm.calls) == 1
        await call.hear(TranscriptUpdate("Is lunch on Sunday?", is_final=True, end_of_turn=True))
        assert call.person_turns()[-1].text == "Is lunch on Sunday?"

    run(scenario())
