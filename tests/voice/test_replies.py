"""Reply generation alone: the LLM's reply into the TTS clause by clause, fixed lines, stopping, usage."""

import asyncio

from voice.engine.config import ConversationConfig
from voice.engine.metrics import ProviderUsage
from voice.engine.replies import ReplyGenerator, TurnProgress
from voice.providers.base import ToolCall, Usage

from .scripted import ScriptedLlm, ScriptedTts, call_context, reply, run, settle


async def generator(llm: ScriptedLlm) -> tuple[ReplyGenerator, ScriptedTts, ProviderUsage]:
    tts, usage = ScriptedTts(), ProviderUsage()
    replies = ReplyGenerator(
        context=call_context(),
        llm=llm,
        tts=tts,
        config=ConversationConfig(),
        usage=usage,
        spawn=asyncio.ensure_future,
    )
    await replies.open_session()
    return replies, tts, usage


def test_a_reply_goes_to_the_tts_clause_by_clause_then_its_context_is_finished():
    async def scenario():
        llm = ScriptedLlm(reply("Oh, well. Yes", Usage(input_tokens=9, output_tokens=3)))
        replies, tts, usage = await generator(llm)
        turn = replies.new_turn(interruptible=True, end_reason=None)
        assert await replies.generate(turn, replies.messages([], None))
        assert tts.session.texts == [("turn-1", "Oh, ", True), ("turn-1", "well. ", True), ("turn-1", "Yes ", True)]
        assert tts.session.finished == ["turn-1"]
        assert (usage.llm_requests, usage.llm_input_tokens, usage.tts_characters) == (1, 9, len("Oh, well. Yes "))

    run(scenario())


def test_an_end_call_with_no_words_says_nothing_and_marks_the_turn_a_goodbye():
    async def scenario():
        replies, tts, _ = await generator(ScriptedLlm([ToolCall(name="end_call", arguments={})]))
        turn = replies.new_turn(interruptible=True, end_reason=None)
        assert not await replies.generate(turn, replies.messages([], None))
        assert (turn.end_reason, tts.session.texts, tts.session.finished) == ("persona", [], [])

    run(scenario())


def test_a_speculative_turn_holds_its_words_until_released():
    async def scenario():
        replies, tts, _ = await generator(ScriptedLlm(reply("Sunday it is.")))
        turn = replies.new_turn(interruptible=True, end_reason=None)
        turn.released.clear()
        task = asyncio.ensure_future(replies.generate(turn, replies.messages([], None)))
        await settle()
        assert tts.session.texts == []
        turn.released.set()
        assert await task
        assert tts.session.text_of("turn-1") == "Sunday it is. "

    run(scenario())


def test_stopping_a_turn_cancels_its_llm_request_and_its_tts_context_once():
    async def scenario():
        still_writing = asyncio.Event()
        llm = ScriptedLlm(reply("Let me tell you, about the garden", still_writing))
        replies, tts, _ = await generator(llm)
        turn = replies.new_turn(interruptible=True, end_reason=None)
        turn.task = asyncio.ensure_future(replies.generate(turn, replies.messages([], None)))
        await settle()
        replies.stop(turn)
        replies.stop(turn)
        await settle()
        assert turn.progress is TurnProgress.STOPPED
        assert llm.calls[0].cancelled
        assert tts.session.cancelled == ["turn-1"]

    run(scenario())


def test_the_prompt_has_the_persona_the_history_and_a_note():
    async def scenario():
        replies, _, _ = await generator(ScriptedLlm())
        messages = replies.messages([], "Say goodbye.")
        assert [message.role for message in messages] == ["system", "system"]
        assert "Your name is Grandma Rose." in messages[0].content
        assert messages[1].content == "Say goodbye."

    run(scenario())
