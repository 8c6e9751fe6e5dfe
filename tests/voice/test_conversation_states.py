"""The conversation's explicit states through a call, and a swapped interruption strategy."""

import asyncio

from voice.engine.conversation import ConversationState
from voice.engine.turn_taking import BargeIn
from voice.providers.base import TranscriptUpdate

from .scripted import PhoneCall, ScriptedLlm, reply, run
from .test_conversation_barge_in import persona_mid_reply


def test_a_call_goes_through_its_states_in_order():
    async def scenario():
        thinking = asyncio.Event()
        call = PhoneCall(llm=ScriptedLlm([thinking, *reply("Oh, I am well, dear. Let me tell you about my garden.")]))
        await call.start()
        assert call.conversation.state is ConversationState.PERSONA_SPEAKING  # the opening clip
        await call.until(lambda: call.line.turns)
        assert call.conversation.state is ConversationState.LISTENING
        await call.hear(TranscriptUpdate("How are you?", is_final=True, end_of_turn=True))
        assert call.conversation.state is ConversationState.PREPARING
        thinking.set()
        await call.silence(0.5)
        assert call.conversation.state is ConversationState.PERSONA_SPEAKING
        await call.voice(6)
        assert call.conversation.state is ConversationState.INTERRUPTED
        await call.hear(TranscriptUpdate("Wait, stop", is_final=False, end_of_turn=False))
        assert call.conversation.state is ConversationState.LISTENING
        await call.conversation.request_end("user")
        assert call.conversation.state is ConversationState.ENDING
        await call.until(lambda: call.line.ended)
        assert call.conversation.state is ConversationState.ENDED

    run(scenario())


def test_a_provider_failure_moves_the_call_to_failing_then_ended():
    async def scenario():
        call = PhoneCall()
        await call.start()
        await call.until(lambda: call.line.turns)
        call.stt.stream.fail()
        await call.silence(0.02)
        assert call.conversation.state is ConversationState.FAILING
        await call.until(lambda: call.line.ended)
        assert call.conversation.state is ConversationState.ENDED

    run(scenario())


class TwoWordsTakeTheTurn:
    """Another strategy: the caller's voice alone never stops the persona, two recognised words do."""

    run_started_at = None

    def frame(self, voiced: bool, now: float) -> BargeIn:
        return BargeIn.NONE

    def speech_started(self, now: float) -> BargeIn:
        return BargeIn.NONE

    def transcript(self, text: str, persona_text: str) -> BargeIn:
        return BargeIn.COMMIT if len(text.split()) >= 2 else BargeIn.NONE

    def acknowledges(self, text: str, persona_text: str) -> bool:
        return False

    def reset(self) -> None:
        pass


def test_another_interruption_strategy_is_passed_in_without_changing_the_engine():
    async def scenario():
        call, _ = await persona_mid_reply(interruptions=TwoWordsTakeTheTurn())
        await call.voice(60)  # a second of voice: the default would have paused and committed
        assert call.line.count("clear") == 0
        await call.hear(TranscriptUpdate("Wait", is_final=False, end_of_turn=False))
        assert call.line.count("clear") == 0
        await call.hear(TranscriptUpdate("Wait, stop", is_final=False, end_of_turn=False))
        assert call.line.count("clear") == 1
        assert call.llm.calls[0].cancelled and call.persona_turns()[1].interrupted

    run(scenario())
