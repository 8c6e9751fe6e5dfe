"""The conversation engine on an ordinary turn: opening, prompt, streaming to TTS, marks, transcript."""

from voice.engine.prompt import END_CALL_TOOL, PHONE_RULES
from voice.engine.turn_taking import words
from voice.providers.base import EagerEndOfTurn, TranscriptUpdate, TurnResumed

from .scripted import PhoneCall, ScriptedLlm, ScriptedStt, reply, run, speech_for


async def one_exchange(call: PhoneCall) -> None:
    """Opening heard, the caller speaks a turn, the reply is played to the end."""
    await call.start()
    await call.until(lambda: len(call.line.turns) == 1)
    await call.voice(30)
    await call.hear(TranscriptUpdate("Hi Grandma, how are you?", is_final=True, end_of_turn=True))
    await call.until(lambda: len(call.line.turns) == 3)


def test_opening_clip_is_sent_at_once_and_recorded_when_heard():
    async def scenario():
        call = PhoneCall()
        await call.start()
        assert call.line.sent[0] == ("audio", speech_for("Hello Alex, it is Grandma!").mulaw)
        assert call.line.sent[1][0] == "mark"
        assert call.line.turns == []  # not heard yet
        await call.until(lambda: call.line.turns)
        opening = call.line.turns[0]
        assert (opening.speaker, opening.text, opening.interrupted, opening.offset_ms) == (
            "persona",
            "Hello Alex, it is Grandma!",
            False,
            0,
        )

    run(scenario())


def test_opening_without_a_cached_clip_is_synthesised_through_the_session():
    async def scenario():
        call = PhoneCall(opening_audio=None)
        await call.start()
        assert call.tts.session.texts == [("turn-1", "Hello Alex, it is Grandma! ", True)]
        assert call.tts.session.finished == ["turn-1"]
        await call.until(lambda: call.line.turns)
        assert call.line.turns[0].text == "Hello Alex, it is Grandma!"

    run(scenario())


def test_prompt_has_persona_scenario_phone_rules_first_name_and_the_conversation_so_far():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("I am well, dear.")))
        await one_exchange(call)
        request = call.llm.calls[0]
        system = request.messages[0]
        assert system.role == "system"
        assert "You are Grandma Rose, a warm grandmother who loves baking." in system.content
        assert "You are calling to invite them to Sunday lunch." in system.content
        assert PHONE_RULES in system.content
        assert "Alex" in system.content
        assert [(m.role, m.content) for m in request.messages[1:]] == [
            ("assistant", "Hello Alex, it is Grandma!"),
            ("user", "Hi Grandma, how are you?"),
        ]
        assert (request.model, request.temperature, request.tools) == ("test-model", 0.7, [END_CALL_TOOL])

    run(scenario())


def test_reply_goes_to_tts_clause_by_clause_each_flushed():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Oh, I am well, dear. Are you coming on Sunday? I made pie")))
        await one_exchange(call)
        reply_texts = [(text, flush) for context, text, flush in call.tts.session.texts if context == "turn-2"]
        assert reply_texts == [
            ("Oh, ", True),
            ("I am well, ", True),
            ("dear. ", True),
            ("Are you coming on Sunday? ", True),
            ("I made pie ", True),
        ]
        assert call.tts.session.finished[-1] == "turn-2"

    run(scenario())


def test_markdown_and_list_markers_never_reach_the_tts():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("**Well** dear,\n- pie\n- _cake_")))
        await one_exchange(call)
        assert call.tts.session.text_of("turn-2") == "Well dear, pie cake "

    run(scenario())


def test_every_audio_chunk_is_followed_by_its_own_mark():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Oh, I am well, dear.")))
        await one_exchange(call)
        kinds = [item[0] for item in call.line.sent]
        assert kinds == ["audio", "mark"] * (len(kinds) // 2)
        marks = [item[1] for item in call.line.sent if item[0] == "mark"]
        assert len(set(marks)) == len(marks) == 4  # the opening and three clauses

    run(scenario())


def test_turns_are_recorded_in_order_with_what_was_said():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Oh, I am well, dear.")))
        await one_exchange(call)
        assert [(t.index, t.speaker, t.text, t.interrupted) for t in call.line.turns] == [
            (0, "persona", "Hello Alex, it is Grandma!", False),
            (1, "person", "Hi Grandma, how are you?", False),
            (2, "persona", "Oh, I am well, dear.", False),
        ]
        offsets = [turn.offset_ms for turn in call.line.turns]
        assert offsets == sorted(offsets)

    run(scenario())


def test_final_pieces_of_one_utterance_make_one_person_turn():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Lovely.")))
        await call.start()
        await call.hear(TranscriptUpdate("I was just", is_final=False, end_of_turn=False))
        await call.hear(TranscriptUpdate("I was just baking.", is_final=True, end_of_turn=False))
        await call.hear(TranscriptUpdate("Bread.", is_final=True, end_of_turn=True))
        assert call.person_turns()[0].text == "I was just baking. Bread."
        assert call.llm.calls[0].messages[-1].content == "I was just baking. Bread."

    run(scenario())


def test_voice_to_voice_is_measured_from_the_last_voiced_frame_to_the_first_audio_sent():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Lovely.")))
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.voice(10)
        await call.silence(0.3)  # the recogniser's end-of-turn comes after some quiet
        await call.hear(TranscriptUpdate("Hello.", is_final=True, end_of_turn=True))
        turn = call.conversation.metrics.turns[0]
        # the scripted providers answer in no fake time: all of it is the quiet before the end of turn
        assert round(turn.voice_to_voice_ms) == 320
        assert turn.overhead_ms > 0

    run(scenario())


def test_keep_alive_goes_to_the_recogniser_while_the_persona_talks():
    async def scenario():
        long_text = "This is a long story about the garden and the roses and the neighbours, " * 3
        call = PhoneCall(opening_line=long_text, opening_audio=speech_for(long_text).mulaw)
        await call.start()
        await call.silence(6)
        assert call.stt.stream.keep_alives == 1
        await call.until(lambda: call.line.turns)
        quiet_from = call.stt.stream.keep_alives
        await call.silence(5)
        assert call.stt.stream.keep_alives == quiet_from

    run(scenario())


def test_caller_audio_is_passed_to_the_recogniser_untouched():
    async def scenario():
        call = PhoneCall()
        await call.start()
        await call.voice(25)
        assert call.stt.stream.audio_bytes == 25 * 160

    run(scenario())


def test_caller_audio_reaches_the_recogniser_in_its_chunk_size():
    async def scenario():
        call = PhoneCall(stt=ScriptedStt(audio_chunk_ms=80))
        await call.start()
        await call.voice(24)
        assert (call.stt.stream.audio_messages, call.stt.stream.audio_bytes) == (6, 24 * 160)
        await call.voice(3)
        assert call.stt.stream.audio_bytes == 24 * 160  # three frames wait for the fourth

    run(scenario())


def test_a_reply_not_yet_heard_is_dropped_when_the_caller_goes_on_talking():
    async def scenario():
        import asyncio

        slow = asyncio.Event()
        call = PhoneCall(llm=ScriptedLlm([slow, *reply("Too early.")], reply("Now I see.")))
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.hear(TranscriptUpdate("I wanted to say", is_final=True, end_of_turn=True))
        await call.hear(TranscriptUpdate("that I", is_final=False, end_of_turn=False))
        assert call.llm.calls[0].cancelled
        await call.hear(TranscriptUpdate("that I love you.", is_final=True, end_of_turn=True))
        await call.until(lambda: len(call.persona_turns()) == 2)
        assert call.persona_turns()[1].text == "Now I see."
        assert [m.content for m in call.llm.calls[1].messages[-2:]] == ["I wanted to say", "that I love you."]

    run(scenario())


def test_eager_end_of_turn_starts_the_llm_but_holds_its_words():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Sunday it is.")))
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.hear(EagerEndOfTurn("See you on Sunday"))
        assert call.llm.calls[0].messages[-1].content == "See you on Sunday"
        assert call.tts.session.text_of("turn-2") == ""

    run(scenario())


def test_speculative_reply_is_dropped_when_the_turn_resumes():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Sunday it is. See you."), reply("Saturday then.")))
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.hear(EagerEndOfTurn("See you on Sunday"))
        await call.hear(TurnResumed())
        assert call.llm.calls[0].cancelled
        assert call.tts.session.text_of("turn-2") == ""
        await call.hear(TranscriptUpdate("See you on Sunday, or Saturday?", is_final=True, end_of_turn=True))
        await call.until(lambda: len(call.persona_turns()) == 2)
        assert len(call.llm.calls) == 2
        assert call.persona_turns()[1].text == "Saturday then."
        assert [turn.index for turn in call.conversation.metrics.turns] == [0]  # the dropped reply has none

    run(scenario())


def test_speculative_reply_is_released_when_the_turn_ends_with_the_same_words():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Sunday it is.")))
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.hear(EagerEndOfTurn("See you on Sunday"))
        await call.hear(TranscriptUpdate("See you on Sunday.", is_final=True, end_of_turn=True))
        await call.until(lambda: len(call.persona_turns()) == 2)
        assert len(call.llm.calls) == 1
        assert call.tts.session.text_of("turn-2") == "Sunday it is. "
        assert [t.speaker for t in call.line.turns] == ["persona", "person", "persona"]

    run(scenario())


def test_speculative_reply_is_replaced_when_the_final_words_differ():
    async def scenario():
        call = PhoneCall(llm=ScriptedLlm(reply("Sunday it is. Bring pie."), reply("Monday, then.")))
        await call.start()
        await call.until(lambda: call.line.turns)
        await call.hear(EagerEndOfTurn("See you on Sunday"))
        await call.hear(TranscriptUpdate("See you on Monday.", is_final=True, end_of_turn=True))
        await call.until(lambda: len(call.persona_turns()) == 2)
        assert call.llm.calls[0].cancelled
        assert call.persona_turns()[1].text == "Monday, then."
        assert words(call.llm.calls[1].messages[-1].content) == ["see", "you", "on", "monday"]

    run(scenario())
