"""The live conversation: one phone call between a person and a persona, composed of the
engine's parts.

Plain asyncio, no Django: the transport (voice/consumers.py) feeds it the caller's audio
frames, Twilio's mark echoes and DTMF, and gives it a `CallOutput` to send audio, marks and
clears and to hang up; the providers come in through the interfaces of
`voice/providers/base.py`. A test drives it with scripted providers and a fake clock.

The parts: `OutputChannel` (audio, marks, clear, held audio), `CallTimers` (silence, time
limit, KeepAlive), an `InterruptionStrategy` (barge-in, swappable), `ReplyGenerator` (LLM ->
clauses -> TTS). The conversation keeps the call's phase (`Phase`) and the persona's current
turn; `state` names where the call stands.

Per call it runs a handful of long-lived tasks (audio to the recogniser, the recogniser's
events, the TTS audio, the timers) plus one task per persona reply. `receive_audio` is
synchronous and cheap: the VAD verdict, a barge-in step and a queue append, with no task per
frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import deque
from collections.abc import Coroutine
from typing import Any

from voice.audio import FRAME_SECONDS
from voice.engine.call import CallContext, CallOutput, Clock, HeardTurn, MonotonicClock
from voice.engine.config import ConversationConfig
from voice.engine.metrics import ConversationMetrics, ProviderUsage, TurnMetrics
from voice.engine.output import OutputChannel
from voice.engine.playback import OutboundChunk
from voice.engine.replies import PersonaTurn, ReplyGenerator, TurnProgress
from voice.engine.timers import CallTimers, SilenceStep
from voice.engine.turn_taking import BargeIn, InterruptionStrategy, PauseThenCommit, same_words, words
from voice.engine.vad import VoiceActivityDetector
from voice.providers.base import (
    AudioChunk,
    ChatMessage,
    EagerEndOfTurn,
    LanguageModel,
    ProviderError,
    SpeechStarted,
    SpeechToText,
    SttStream,
    TextToSpeech,
    TranscriptUpdate,
    TurnResumed,
)

logger = logging.getLogger(__name__)


class Phase(enum.Enum):
    """Where the call is in its life; it only moves down this list."""

    CONVERSING = "conversing"  # turns go back and forth
    ENDING = "ending"  # a goodbye that cannot be interrupted is under way; the call ends once it is heard
    FAILING = "failing"  # a provider failed: the fallback line plays, then the call ends
    ENDED = "ended"


class ConversationState(enum.Enum):
    LISTENING = "listening"  # the persona is silent
    PREPARING = "preparing"  # a reply is on its way, none of it audible yet
    PERSONA_SPEAKING = "persona_speaking"
    INTERRUPTED = "interrupted"  # paused by the caller's voice, the rest held until their words decide
    ENDING = "ending"
    FAILING = "failing"
    ENDED = "ended"


class Conversation:
    def __init__(
        self,
        *,
        context: CallContext,
        stt: SpeechToText,
        llm: LanguageModel,
        tts: TextToSpeech,
        output: CallOutput,
        clock: Clock | None = None,
        config: ConversationConfig | None = None,
        interruptions: InterruptionStrategy | None = None,
    ) -> None:
        self._context = context
        self._stt_provider = stt
        self._line = output
        self._clock = clock = clock or MonotonicClock()
        self._config = config = config or ConversationConfig()
        self._vad = VoiceActivityDetector(config.vad)
        self._interruptions = interruptions or PauseThenCommit(config.barge_in)
        self._metrics = ConversationMetrics()
        self._usage = ProviderUsage()
        self._tasks: set[asyncio.Task] = set()
        self._output = OutputChannel(
            output, clock, spawn=self._spawn, is_current=self._is_current, on_first_audio=self._first_audio
        )
        self._timers = CallTimers(clock, config, self)
        self._replies = ReplyGenerator(
            context=context, llm=llm, tts=tts, config=config, usage=self._usage, spawn=self._spawn
        )
        self._phase = Phase.CONVERSING
        self._turn: PersonaTurn | None = None  # the persona turn being generated or played
        self._history: list[ChatMessage] = []
        self._stt: SttStream | None = None
        self._inbound: deque[bytes] = deque(maxlen=config.inbound_backlog_frames)
        self._inbound_ready = asyncio.Event()
        self._inbound_chunk_frames = max(1, round(stt.audio_chunk_ms / 1000 / FRAME_SECONDS))
        self._recorded = 0
        self._finals: list[str] = []  # the caller's current utterance
        self._utterance_started_at: float | None = None
        self._last_voiced_at: float | None = None
        self._started_at = 0.0

    # --- the transport's side -------------------------------------------------------

    async def start(self) -> None:
        """Open the recogniser and the TTS session and play the opening line."""
        self._started_at = now = self._clock.now()
        self._timers.start(now, self._context.authorized_seconds)
        self._spawn(self._timers.run())
        opening = self._begin_turn()
        if self._context.opening_audio:
            await self._play_clip(opening, self._context.opening_audio, self._context.opening_line)
        try:
            self._stt = await self._stt_provider.open_stream()
            await self._replies.open_session()
        except ProviderError as error:
            logger.warning("call %s: opening the providers failed: %s", self._context.call_id, error)
            await self._fail("provider_error")
            return
        self._spawn(self._pump_inbound())
        self._spawn(self._read_stt())
        self._spawn(self._read_tts())
        if not self._context.opening_audio:
            self._spawn(self._replies.say(opening, self._context.opening_line))

    def receive_audio(self, mulaw: bytes) -> None:
        """One inbound frame (20 ms of mu-law): to the recogniser, through the VAD, into barge-in."""
        phase = self._phase
        if phase is Phase.ENDED or phase is Phase.FAILING:
            return
        self._inbound.append(mulaw)
        if len(self._inbound) >= self._inbound_chunk_frames:
            self._inbound_ready.set()
        now = self._clock.now()
        audible = self._persona_audible()
        playing = audible and not self._output.paused  # after a clear the line carries no echo of the persona
        for voiced in self._vad.frames(mulaw, persona_talking=playing):
            self._metrics.frames += 1
            if voiced:
                self._heard_voice(now, audible)
            if audible and self._turn is not None and self._turn.interruptible:
                self._apply_barge_in(self._interruptions.frame(voiced, now), now)

    def mark_played(self, name: str) -> None:
        """Twilio echoed a mark: the audio before it has been heard."""
        owner = self._output.mark_played(name)
        if owner is not None and self._turn is not None and owner is self._turn.audio:
            self._end_turn_if_heard(self._turn)

    def dtmf(self, digit: str) -> None:
        """A key press counts as the person being there; the persona does not react to digits."""
        self._timers.note_activity(self._clock.now())

    async def request_end(self, reason: str) -> None:
        """The app or an admin hangs up: a short goodbye is started, the call ends once it is heard.

        Returns as soon as the goodbye is on its way, so the transport keeps relaying the
        mark echoes that tell when it has been heard.
        """
        if self._phase is not Phase.CONVERSING:
            return
        if self._replies.session is None:
            await self._hang_up(reason)
            return
        self._interrupt_persona(self._clock.now())
        self._cancel_pending_reply()
        turn = self._begin_turn(interruptible=False, end_reason=reason)
        await self._replies.say(turn, self._config.hangup_line.format(first_name=self._context.first_name).strip())

    async def stop(self) -> None:
        """The stream is over (Twilio's stop, socket closed): record what was said, release everything."""
        if self._phase is Phase.ENDED:
            return
        if self._turn is not None:
            self._output.count_heard(self._clock.now())
            self._record_persona(self._turn, interrupted=True)
        self._record_person_utterance()
        await self._release()

    @property
    def state(self) -> ConversationState:
        if self._phase is not Phase.CONVERSING:
            return ConversationState(self._phase.value)
        if self._output.paused:
            return ConversationState.INTERRUPTED
        if self._persona_audible():
            return ConversationState.PERSONA_SPEAKING
        return ConversationState.LISTENING if self._turn is None else ConversationState.PREPARING

    @property
    def metrics(self) -> ConversationMetrics:
        return self._metrics

    @property
    def usage(self) -> ProviderUsage:
        return self._usage

    @property
    def context(self) -> CallContext:
        return self._context

    # --- what the timers ask and tell (TimerEvents) ---------------------------------------

    @property
    def ended(self) -> bool:
        return self._phase is Phase.ENDED

    def idle(self) -> bool:
        return self._turn is None and not self._finals and self._phase is Phase.CONVERSING

    def persona_has_turn(self) -> bool:
        return self._turn is not None

    async def goodbye_overdue(self, reason: str) -> None:
        await self._hang_up(reason)

    def time_limit_reached(self) -> None:
        self._start_reply(history=self._history)

    async def keep_recogniser_alive(self) -> None:
        if self._stt is not None:
            await self._stt.keep_alive()

    def silence_reached(self, step: SilenceStep) -> None:
        if step is SilenceStep.PROMPT:
            self._start_reply(history=self._history, note=self._config.silence_prompt_note)
        else:
            self._start_reply(history=self._history, note=self._config.silence_goodbye_note, end_reason="silence")

    # --- the caller -----------------------------------------------------------------

    def _heard_voice(self, now: float, persona_audible: bool) -> None:
        self._last_voiced_at = now
        if not persona_audible:
            if self._utterance_started_at is None:
                self._utterance_started_at = now
            self._timers.note_activity(now)

    def _on_speech_started(self) -> None:
        now = self._clock.now()
        if self._persona_audible() and self._turn is not None and self._turn.interruptible:
            self._apply_barge_in(self._interruptions.speech_started(now), now)

    def _on_transcript(self, update: TranscriptUpdate) -> None:
        now = self._clock.now()
        text = update.text.strip()
        turn = self._turn
        if text:
            self._timers.note_activity(now)
            if self._persona_audible() and turn is not None:
                if turn.interruptible:
                    self._apply_barge_in(self._interruptions.transcript(text, turn.audio.spoken_text), now)
            elif turn is not None and turn.task is not None and turn.speculative_text is None and words(text):
                self._cancel_pending_reply()  # they went on talking before the reply was heard
            if self._utterance_started_at is None and not self._persona_audible():
                self._utterance_started_at = now
        if update.is_final and text and not self._acknowledges_persona(text):
            self._finals.append(text)
        if update.end_of_turn:
            self._end_of_turn(now)

    def _on_eager_end_of_turn(self, event: EagerEndOfTurn) -> None:
        """Flux thinks the caller is done: start the reply, but hold its words until it is sure."""
        text = " ".join([*self._finals, event.text]).strip()
        if not words(text) or self._phase is not Phase.CONVERSING or self._persona_audible():
            return
        self._cancel_pending_reply()
        metrics = self._new_metrics()
        history = [*self._history, ChatMessage(role="user", content=text)]
        self._start_reply(history=history, metrics=metrics, speculative_text=text)

    def _on_turn_resumed(self) -> None:
        turn = self._turn
        if turn is not None and turn.speculative_text is not None:
            self._cancel_pending_reply()

    def _end_of_turn(self, now: float) -> None:
        text = " ".join(self._finals).strip()
        started_at = self._utterance_started_at
        self._finals = []
        self._utterance_started_at = None
        turn = self._turn
        if not words(text):
            return
        if self._acknowledges_persona(text):
            return
        if self._persona_audible() and turn is not None and turn.interruptible:
            self._commit_barge_in(now)
        self._record_turn(speaker="person", text=text, interrupted=False, at=started_at or now)
        self._history.append(ChatMessage(role="user", content=text))
        if self._phase is not Phase.CONVERSING:
            return
        turn = self._turn
        if turn is not None and turn.speculative_text is not None and same_words(turn.speculative_text, text):
            turn.speculative_text = None
            if turn.metrics is not None:
                turn.metrics.end_of_speech_at = self._last_voiced_at
                turn.metrics.begin()
            turn.released.set()
            return
        self._cancel_pending_reply()
        self._start_reply(history=self._history, metrics=self._new_metrics())

    def _acknowledges_persona(self, text: str) -> bool:
        """An "mm-hm" (or the persona's own echo) while it talks: not a turn, not part of the next one."""
        turn = self._turn
        return (
            self._persona_audible()
            and turn is not None
            and self._interruptions.acknowledges(text, turn.audio.spoken_text)
        )

    def _record_person_utterance(self) -> None:
        text = " ".join(self._finals).strip()
        if words(text):
            self._record_turn(speaker="person", text=text, interrupted=False, at=self._utterance_started_at or 0.0)
        self._finals = []

    # --- barge-in -------------------------------------------------------------------

    def _apply_barge_in(self, action: BargeIn, now: float) -> None:
        if action is BargeIn.PAUSE:
            if self._output.pause(now):  # the rest is held until we know whether it was a turn
                self._note_barge_in(now)
        elif action is BargeIn.COMMIT:
            self._commit_barge_in(now)
        elif action is BargeIn.RESUME:
            self._resume()

    def _resume(self) -> None:
        """It was not a turn (a cough, an "mm-hm"): play the held audio from the interrupted word."""
        self._interruptions.reset()
        if self._turn is not None:
            self._spawn(self._resume_turn(self._turn))

    async def _resume_turn(self, turn: PersonaTurn) -> None:
        await self._output.resume(turn)
        self._end_turn_if_heard(turn)

    def _commit_barge_in(self, now: float) -> None:
        """The caller has the turn: the persona stops for good, cut to what was heard."""
        turn = self._turn
        if turn is None or not turn.interruptible:
            return
        if not self._output.paused:
            self._note_barge_in(now)
        if self._utterance_started_at is None:
            self._utterance_started_at = self._interruptions.run_started_at or now
        self._interrupt_persona(now)

    def _interrupt_persona(self, now: float) -> None:
        """Stop whatever the persona is saying and record the words that were heard."""
        turn = self._turn
        if turn is None or not turn.audible:
            return
        self._output.stop(now)
        self._timers.cancel_goodbye()
        self._interruptions.reset()
        self._replies.stop(turn)
        turn.audio.held.clear()
        self._record_persona(turn, interrupted=True)
        self._turn = None
        self._timers.note_activity(now)

    def _note_barge_in(self, now: float) -> None:
        started_at = self._interruptions.run_started_at
        if started_at is not None:
            self._metrics.barge_in_ms.append((now - started_at) * 1000)

    def _persona_audible(self) -> bool:
        turn = self._turn
        return turn is not None and turn.offset_ms is not None

    # --- the persona ----------------------------------------------------------------

    def _is_current(self, turn: PersonaTurn) -> bool:
        return turn is self._turn

    def _begin_turn(self, *, interruptible: bool = True, end_reason: str | None = None) -> PersonaTurn:
        turn = self._replies.new_turn(interruptible=interruptible, end_reason=end_reason)
        self._turn = turn
        if end_reason is not None and not interruptible and self._phase is Phase.CONVERSING:
            self._phase = Phase.ENDING
        self._timers.persona_turn_began()
        return turn

    def _new_metrics(self) -> TurnMetrics:
        """Timings for a reply; kept once its first audio goes out (a dropped reply has none)."""
        metrics = TurnMetrics(index=-1, end_of_speech_at=self._last_voiced_at)
        metrics.begin()
        return metrics

    def _start_reply(
        self,
        *,
        history: list[ChatMessage],
        metrics: TurnMetrics | None = None,
        note: str | None = None,
        speculative_text: str | None = None,
        end_reason: str | None = None,
    ) -> None:
        if self._timers.wrap_up_due and end_reason is None:
            note, end_reason = self._config.time_limit_note, "time_limit"
        turn = self._begin_turn(interruptible=end_reason is None, end_reason=end_reason)
        turn.metrics = metrics
        if speculative_text is not None:
            turn.speculative_text = speculative_text
            turn.released.clear()
        turn.task = self._spawn(self._speak_reply(turn, self._replies.messages(history, note)))

    async def _speak_reply(self, turn: PersonaTurn, messages: list[ChatMessage]) -> None:
        if not await self._replies.generate(turn, messages):
            self._audio_generated(turn)  # nothing to say (an end_call on its own)

    async def _play_clip(self, turn: PersonaTurn, mulaw: bytes, text: str) -> None:
        """A cached clip straight to the caller, no provider involved."""
        turn.audio.spoken_text = text
        await self._output.deliver(turn, OutboundChunk.spread(mulaw, text))
        self._audio_generated(turn)

    async def _on_tts_audio(self, chunk: AudioChunk) -> None:
        turn = self._turn
        if turn is None or chunk.context_id != turn.context_id or turn.progress is TurnProgress.STOPPED:
            return  # audio of a cancelled turn still in the pipe
        if turn.metrics is not None and turn.offset_ms is None:
            turn.metrics.begin()
        await self._output.deliver(turn, turn.audio.chunk(chunk.mulaw, chunk.alignment))

    def _first_audio(self, turn: PersonaTurn) -> None:
        """The turn's first audio is about to go out (the output channel holds its lock)."""
        turn.offset_ms = self._offset_ms(self._clock.now())
        self._timers.wake()
        if turn.metrics is not None:
            self._metrics.first_audio(turn.metrics, self._clock.now())

    def _audio_generated(self, turn: PersonaTurn) -> None:
        """All of the turn's audio exists; a goodbye gets a deadline in case its marks never return."""
        if turn is not self._turn:
            return
        turn.progress = TurnProgress.GENERATED
        if turn.end_reason is not None:
            self._timers.goodbye_sent(turn.audio.sent_ms / 1000, turn.end_reason)
        self._end_turn_if_heard(turn)

    def _end_turn_if_heard(self, turn: PersonaTurn) -> None:
        """The turn is over once all its audio exists and every chunk's mark came back."""
        if (
            turn is not self._turn
            or turn.progress is TurnProgress.GENERATING
            or turn.audio.in_flight
            or turn.audio.held
            or self._output.paused
        ):
            return
        self._turn = None
        self._record_persona(turn, interrupted=False)
        if turn.end_reason is not None:
            self._spawn(self._hang_up(turn.end_reason))
            return
        self._timers.persona_turn_heard()
        if self._timers.wrap_up_due and self._phase is Phase.CONVERSING:
            self._start_reply(history=self._history)

    def _cancel_pending_reply(self) -> None:
        """Drop a reply that has not been heard at all (the caller went on, or a newer turn replaces it)."""
        turn = self._turn
        if turn is None or turn.audible or not turn.interruptible:
            return
        self._replies.stop(turn)
        self._turn = None

    # --- the transcript -------------------------------------------------------------

    def _record_persona(self, turn: PersonaTurn, *, interrupted: bool) -> None:
        text = turn.audio.heard_text
        if not text:
            return
        self._history.append(ChatMessage(role="assistant", content=text))
        self._record_turn(speaker="persona", text=text, interrupted=interrupted, at=None, offset_ms=turn.offset_ms)

    def _record_turn(
        self, *, speaker: str, text: str, interrupted: bool, at: float | None, offset_ms: int | None = None
    ) -> None:
        if offset_ms is None:
            offset_ms = self._offset_ms(at if at is not None else self._clock.now())
        turn = HeardTurn(index=self._recorded, speaker=speaker, text=text, interrupted=interrupted, offset_ms=offset_ms)
        self._recorded += 1
        self._line.record_turn(turn)

    def _offset_ms(self, at: float) -> int:
        return max(0, round((at - self._started_at) * 1000))

    # --- providers, failure and the end ----------------------------------------------

    async def _pump_inbound(self) -> None:
        """The caller's audio to the recogniser, in the provider's chunk size (more when it
        falls behind)."""
        while True:
            await self._inbound_ready.wait()
            self._inbound_ready.clear()
            if self._inbound:
                audio = b"".join(self._inbound)
                self._inbound.clear()
                self._usage.stt_audio_bytes += len(audio)
                await self._stt.send_audio(audio)

    async def _read_stt(self) -> None:
        async for event in self._stt.events():
            if isinstance(event, SpeechStarted):
                self._on_speech_started()
            elif isinstance(event, TranscriptUpdate):
                self._on_transcript(event)
            elif isinstance(event, EagerEndOfTurn):
                self._on_eager_end_of_turn(event)
            elif isinstance(event, TurnResumed):
                self._on_turn_resumed()
        raise ProviderError("the speech-to-text stream ended")

    async def _read_tts(self) -> None:
        async for item in self._replies.session.audio():
            if isinstance(item, AudioChunk):
                await self._on_tts_audio(item)
            elif self._turn is not None and item.context_id == self._turn.context_id:
                self._audio_generated(self._turn)
        raise ProviderError("the text-to-speech session ended")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.ensure_future(self._fail_on_error(coroutine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _fail_on_error(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """A provider failing anywhere ends the call with the fallback line, never a silent line."""
        try:
            await coroutine
        except ProviderError as error:
            if self._phase is not Phase.ENDED:
                logger.warning("call %s: provider failed: %s", self._context.call_id, error)
                await self._fail("provider_error")
        except Exception:
            if self._phase is not Phase.ENDED:
                logger.exception("call %s: the conversation engine failed", self._context.call_id)
                await self._fail("engine_error")

    async def _fail(self, reason: str) -> None:
        """Apologise with the cached fallback clip (no provider needed) and end the call."""
        if self._phase is Phase.FAILING or self._phase is Phase.ENDED:
            return
        self._phase = Phase.FAILING
        self._inbound.clear()
        turn = self._turn
        if turn is not None:
            self._interrupt_persona(self._clock.now())
            self._replies.stop(turn)
            self._turn = None
        if not self._context.fallback_audio:
            await self._hang_up(reason)
            return
        fallback = self._begin_turn(interruptible=False, end_reason=reason)
        try:
            await self._play_clip(fallback, self._context.fallback_audio, self._context.fallback_line)
        except Exception as error:  # the line itself is gone: nothing left to say it on
            logger.info("call %s: the fallback line could not be sent: %s", self._context.call_id, error)
            await self._hang_up(reason)

    async def _hang_up(self, reason: str) -> None:
        if self._phase is Phase.ENDED:
            return
        self._phase = Phase.ENDED
        logger.info("call %s: ending (%s)", self._context.call_id, reason)
        with contextlib.suppress(Exception):
            await self._line.end_call(reason)
        await self._release()

    async def _release(self) -> None:
        """Cancel the call's tasks and close its provider streams."""
        self._phase = Phase.ENDED
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for closing in (self._stt, self._replies.session):
            if closing is not None:
                try:
                    await closing.close()
                except Exception as error:  # a dead socket cannot spoil the end of a call
                    logger.info("call %s: closing a provider: %s", self._context.call_id, error)
