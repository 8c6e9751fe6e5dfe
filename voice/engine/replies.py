"""What the persona says, through the providers: the LLM's reply streamed into the TTS clause
by clause, or a fixed line (the opening without a cached clip, a goodbye).

Each `PersonaTurn` is one TTS context. The providers' billable work is counted as it is
handed over, so a reply cut off by a barge-in is counted too.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from voice.engine.call import CallContext
from voice.engine.clauses import ClauseBuffer
from voice.engine.config import ConversationConfig
from voice.engine.metrics import ProviderUsage, TurnMetrics
from voice.engine.playback import TurnAudio
from voice.engine.prompt import END_CALL_TOOL, build_messages, persona_instructions
from voice.providers.base import ChatMessage, LanguageModel, TextDelta, TextToSpeech, ToolCall, TtsSession, Usage

Spawn = Callable[[Coroutine[Any, Any, None]], asyncio.Task]


class TurnProgress(enum.Enum):
    GENERATING = "generating"  # more of its audio may come
    GENERATED = "generated"  # all of its audio exists
    STOPPED = "stopped"  # cancelled: it will not be heard (any further)


@dataclass(eq=False)
class PersonaTurn:
    """One thing the persona says: a reply, the opening, a goodbye or the fallback line."""

    context_id: str
    interruptible: bool = True
    end_reason: str | None = None  # hang up with this reason once it has been heard
    audio: TurnAudio = field(default_factory=TurnAudio)
    progress: TurnProgress = TurnProgress.GENERATING
    task: asyncio.Task | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event)  # a speculative reply waits on it
    speculative_text: str | None = None  # the caller's words it was started on (Flux EagerEndOfTurn)
    metrics: TurnMetrics | None = None
    offset_ms: int | None = None  # when its first audio went out

    @property
    def audible(self) -> bool:
        return self.offset_ms is not None


class ReplyGenerator:
    def __init__(
        self,
        *,
        context: CallContext,
        llm: LanguageModel,
        tts: TextToSpeech,
        config: ConversationConfig,
        usage: ProviderUsage,
        spawn: Spawn,
    ) -> None:
        self._context = context
        self._llm = llm
        self._tts = tts
        self._config = config
        self._usage = usage
        self._spawn = spawn
        self._instructions = persona_instructions(
            persona_name=context.persona_name,
            system_prompt=context.system_prompt,
            pretext=context.pretext,
            first_name=context.first_name,
        )
        self._turns = 0
        self.session: TtsSession | None = None  # the call's TTS session, once open

    async def open_session(self) -> TtsSession:
        self.session = await self._tts.open_session(self._context.voice)
        return self.session

    def new_turn(self, *, interruptible: bool, end_reason: str | None) -> PersonaTurn:
        self._turns += 1
        turn = PersonaTurn(context_id=f"turn-{self._turns}", interruptible=interruptible, end_reason=end_reason)
        turn.released.set()
        return turn

    def messages(self, history: Sequence[ChatMessage], note: str | None) -> list[ChatMessage]:
        return build_messages(
            instructions=self._instructions, history=history, history_limit=self._config.history_limit, note=note
        )

    async def generate(self, turn: PersonaTurn, messages: list[ChatMessage]) -> bool:
        """Stream the LLM's reply into the TTS, clause by clause. False when it had no words
        (an end_call on its own): no audio will come for it."""
        context = self._context
        clauses = ClauseBuffer(self._config.clause_max_chars)
        self._usage.llm_requests += 1
        stream = self._llm.stream_reply(
            messages=messages, model=context.llm_model, temperature=context.llm_temperature, tools=(END_CALL_TOOL,)
        )
        if turn.metrics is not None:
            turn.metrics.stop()
        try:
            async for item in stream:
                if isinstance(item, TextDelta):
                    measuring = turn.metrics is not None and not turn.audio.spoken_text
                    if measuring:
                        turn.metrics.begin()
                    for clause in clauses.feed(item.text):
                        await self._send_text(turn, clause)
                    if measuring:
                        turn.metrics.stop()
                elif isinstance(item, ToolCall) and item.name == END_CALL_TOOL.name:
                    turn.end_reason = turn.end_reason or "persona"
                elif isinstance(item, Usage):
                    self._usage.add_llm(item)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:  # a cancelled reply aborts its HTTP request now, not at garbage collection
                await close()
        rest = clauses.flush()
        if rest:
            await self._send_text(turn, rest)
        if not turn.audio.spoken_text:
            return False
        await self.session.finish(turn.context_id)  # ContextDone will say when all its audio is here
        return True

    async def say(self, turn: PersonaTurn, text: str) -> None:
        """A fixed line through the TTS session."""
        await self._send_text(turn, text)
        await self.session.finish(turn.context_id)

    def stop(self, turn: PersonaTurn) -> None:
        """Cancel the LLM request and the TTS context of a turn that will not be heard (further)."""
        generating = turn.progress is TurnProgress.GENERATING
        turn.progress = TurnProgress.STOPPED
        if turn.task is not None and turn.task is not asyncio.current_task():
            turn.task.cancel()
        if generating and turn.audio.spoken_text and self.session is not None:
            self._spawn(self.session.cancel(turn.context_id))

    async def _send_text(self, turn: PersonaTurn, text: str) -> None:
        if not turn.released.is_set():  # a speculative reply's words wait until the turn is confirmed
            if turn.metrics is not None:
                turn.metrics.stop()  # waiting for the caller is not our time
            await turn.released.wait()
        if turn.metrics is not None:
            turn.metrics.stop()
        text += " "
        turn.audio.spoken_text += text
        self._usage.tts_characters += len(text)  # before the await: a barge-in may cancel it mid-send
        await self.session.send_text(turn.context_id, text, flush=True)
