"""The live conversation: one phone call between a person and a persona, composed of the
engine's parts.

Plain asyncio, no Django: the transport (voice/consumers.py) feeds it the caller's audio
frames, Twilio's mark echoes and DTMF, and gives it a `CallOutput` to send audio, marks and
clears and to hang up; the providers come in through the interfaces of
`voice/providers/base.py`. A test drives it with scripted providers and a fake clock.

The parts: `OutputChannel` (audio, marks, clear, held audio), `CallTimers` (silence, time
limit, KeepAlive), `CallerTurns` with its `InterruptionStrategy` (turn-taking and barge-in,
the strategy swappable), `ReplyGenerator` (LLM -> clauses -> TTS) and the `Transcript`. The
conversation keeps the call's `Phase` and the persona's current turn, and answers the parts'
questions about them (`TimerEvents`, `Floor`); `state` names where the call stands.

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
from collections.abc import Coroutine
from typing import Any

from voice.engine.call import CallContext, CallOutput, Clock, MonotonicClock
from voice.engine.caller import CallerTurns, RecogniserFeed
from voice.engine.config import ConversationConfig
from voice.engine.metrics import ConversationMetrics, ProviderUsage, TurnMetrics
from voice.engine.output import OutputChannel
from voice.engine.playback import OutboundChunk
from voice.engine.replies import PersonaTurn, ReplyGenerator, TurnProgress
from voice.engine.timers import CallTimers, SilenceStep
from voice.engine.transcript import Transcript
from voice.engine.turn_taking import InterruptionStrategy, PauseThenCommit
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
        self._metrics = ConversationMetrics()
        self._usage = ProviderUsage()
        self._tasks: set[asyncio.Task] = set()
        self._output = OutputChannel(
            output, clock, spawn=self._spawn, is_current=self._is_current, on_first_audio=self._first_audio
        )
        self._timers = CallTimers(clock, config, self)
        self._transcript = Transcript(output, clock)
        self._caller = CallerTurns(
            strategy=interruptions or PauseThenCommit(config.barge_in),
            floor=self,
            transcript=self._transcript,
            timers=self._timers,
            metrics=self._metrics,
        )
        self._replies = ReplyGenerator(
            context=context, llm=llm, tts=tts, config=config, usage=self._usage, spawn=self._spawn
        )
        self._phase = Phase.CONVERSING
        self._turn: PersonaTurn | None = None  # the persona turn being generated or played
        self._stt: SttStream | None = None
        self._feed = RecogniserFeed(
            chunk_ms=stt.audio_chunk_ms, backlog_frames=config.inbound_backlog_frames, usage=self._usage
        )

    # --- the transport's side -------------------------------------------------------

    async def start(self) -> None:
        """Open the recogniser and the TTS session and play the opening line."""
        now = self._clock.now()
        self._transcript.start(now)
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
        self._spawn(self._feed.run(self._stt))
        self._spawn(self._read_stt())
        self._spawn(self._read_tts())
        if not self._context.opening_audio:
            self._spawn(self._replies.say(opening, self._context.opening_line))

    def receive_audio(self, mulaw: bytes) -> None:
        """One inbound frame (20 ms of mu-law): to the recogniser, through the VAD, into barge-in."""
        phase = self._phase
        if phase is Phase.ENDED or phase is Phase.FAILING:
            return
        self._feed.push(mulaw)
        now = self._clock.now()
        audible = self._persona_audible()
        playing = audible and not self._output.paused  # after a clear the line carries no echo of the persona
        caller = self._caller
        for voiced in self._vad.frames(mulaw, persona_talking=playing):
            self._metrics.frames += 1
            if voiced:
                caller.heard_voice(now, audible)
            if audible and self._turn is not None and self._turn.interruptible:
                caller.frame(voiced, now)

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
        self.interrupt_persona(self._clock.now())
        self.cancel_pending_reply()
        turn = self._begin_turn(interruptible=False, end_reason=reason)
        await self._replies.say(turn, self._config.hangup_line.format(first_name=self._context.first_name).strip())

    async def stop(self) -> None:
        """The stream is over (Twilio's stop, socket closed): record what was said, release everything."""
        if self._phase is Phase.ENDED:
            return
        if self._turn is not None:
            self._output.count_heard(self._clock.now())
            self._transcript.persona_said(self._turn, interrupted=True)
        self._caller.record_unfinished()
        await self._release()

    @property
    def state(self) -> ConversationState:
        """Derived from the phase, the persona's turn and the output channel, never stored twice."""
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
        return self._turn is None and not self._caller.mid_utterance and self._phase is Phase.CONVERSING

    def persona_has_turn(self) -> bool:
        return self._turn is not None

    async def goodbye_overdue(self, reason: str) -> None:
        await self._hang_up(reason)

    def time_limit_reached(self) -> None:
        self._start_reply(history=self._transcript.history)

    async def keep_recogniser_alive(self) -> None:
        if self._stt is not None:
            await self._stt.keep_alive()

    def silence_reached(self, step: SilenceStep) -> None:
        history = self._transcript.history
        if step is SilenceStep.PROMPT:
            self._start_reply(history=history, note=self._config.silence_prompt_note)
        else:
            self._start_reply(history=history, note=self._config.silence_goodbye_note, end_reason="silence")

    # --- what the caller's side asks and tells (Floor) ------------------------------------

    @property
    def turn(self) -> PersonaTurn | None:
        return self._turn

    @property
    def conversing(self) -> bool:
        return self._phase is Phase.CONVERSING

    @property
    def persona_paused(self) -> bool:
        return self._output.paused

    def pause_persona(self, now: float) -> bool:
        return self._output.pause(now)

    def resume_persona(self) -> None:
        if self._turn is not None:
            self._spawn(self._resume_turn(self._turn))

    def interrupt_persona(self, now: float) -> None:
        """Stop whatever the persona is saying and record the words that were heard."""
        turn = self._turn
        if turn is None or not turn.audible:
            return
        self._output.stop(now)
        self._timers.cancel_goodbye()
        self._caller.reset_interruption()
        self._replies.stop(turn)
        turn.audio.held.clear()
        self._transcript.persona_said(turn, interrupted=True)
        self._turn = None
        self._timers.note_activity(now)

    def reply(self, *, history: list[ChatMessage], metrics: TurnMetrics, speculative_text: str | None = None) -> None:
        self._start_reply(history=history, metrics=metrics, speculative_text=speculative_text)

    # --- the persona ----------------------------------------------------------------

    async def _resume_turn(self, turn: PersonaTurn) -> None:
        await self._output.resume(turn)
        self._end_turn_if_heard(turn)

    def _persona_audible(self) -> bool:
        turn = self._turn
        return turn is not None and turn.offset_ms is not None

    def _is_current(self, turn: PersonaTurn) -> bool:
        return turn is self._turn

    def _begin_turn(self, *, interruptible: bool = True, end_reason: str | None = None) -> PersonaTurn:
        turn = self._replies.new_turn(interruptible=interruptible, end_reason=end_reason)
        self._turn = turn
        if end_reason is not None and not interruptible and self._phase is Phase.CONVERSING:
            self._phase = Phase.ENDING
        self._timers.persona_turn_began()
        return turn

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
        turn.offset_ms = self._transcript.offset_ms(self._clock.now())
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
        self._transcript.persona_said(turn, interrupted=False)
        if turn.end_reason is not None:
            self._spawn(self._hang_up(turn.end_reason))
            return
        self._timers.persona_turn_heard()
        if self._timers.wrap_up_due and self._phase is Phase.CONVERSING:
            self._start_reply(history=self._transcript.history)

    def cancel_pending_reply(self) -> None:
        """Drop a reply that has not been heard at all (the caller went on, or a newer turn replaces it)."""
        turn = self._turn
        if turn is None or turn.audible or not turn.interruptible:
            return
        self._replies.stop(turn)
        self._turn = None

    # --- providers, failure and the end ----------------------------------------------

    async def _read_stt(self) -> None:
        async for event in self._stt.events():
            if isinstance(event, SpeechStarted):
                self._caller.speech_started(self._clock.now())
            elif isinstance(event, TranscriptUpdate):
                self._caller.transcript(event, self._clock.now())
            elif isinstance(event, EagerEndOfTurn):
                self._caller.eager_end_of_turn(event)
            elif isinstance(event, TurnResumed):
                self._caller.turn_resumed()
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
        self._feed.clear()
        turn = self._turn
        if turn is not None:
            self.interrupt_persona(self._clock.now())
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
