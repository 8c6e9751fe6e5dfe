"""The caller's side of turn-taking: their audio on its way to the recogniser, their current
utterance, and what their voice and words do to the persona's turn.

`CallerTurns` reads the VAD's verdicts and the recogniser's events, asks the
`InterruptionStrategy` while the persona is audible, and tells the conversation (its
`Floor`) what follows: pause, resume or interrupt the persona, drop a reply the caller
talked over, answer a finished turn.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from voice.audio import FRAME_SECONDS
from voice.engine.metrics import ConversationMetrics, ProviderUsage, TurnMetrics
from voice.engine.replies import PersonaTurn
from voice.engine.timers import CallTimers
from voice.engine.transcript import Transcript
from voice.engine.turn_taking import BargeIn, InterruptionStrategy, same_words, words
from voice.providers.base import ChatMessage, EagerEndOfTurn, SttStream, TranscriptUpdate


class RecogniserFeed:
    """The caller's audio to the recogniser in the provider's chunk size (more at once when it
    falls behind; past the backlog the oldest is dropped). Pushing a frame is O(1), no task."""

    def __init__(self, *, chunk_ms: int, backlog_frames: int, usage: ProviderUsage) -> None:
        self._frames: deque[bytes] = deque(maxlen=backlog_frames)
        self._ready = asyncio.Event()
        self._chunk_frames = max(1, round(chunk_ms / 1000 / FRAME_SECONDS))
        self._usage = usage

    def push(self, frame: bytes) -> None:
        self._frames.append(frame)
        if len(self._frames) >= self._chunk_frames:
            self._ready.set()

    def clear(self) -> None:
        self._frames.clear()

    async def run(self, stream: SttStream) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._frames:
                audio = b"".join(self._frames)
                self._frames.clear()
                self._usage.stt_audio_bytes += len(audio)
                await stream.send_audio(audio)


class Floor(Protocol):
    """What the caller's side asks of the conversation and tells it."""

    @property
    def turn(self) -> PersonaTurn | None:
        """The persona turn being generated or played."""
        ...

    @property
    def conversing(self) -> bool:
        """No goodbye that cannot be interrupted is under way."""
        ...

    @property
    def persona_paused(self) -> bool: ...

    def pause_persona(self, now: float) -> bool:
        """Clear the line and hold the rest; False when already paused."""
        ...

    def resume_persona(self) -> None: ...

    def interrupt_persona(self, now: float) -> None:
        """The persona stops for good, its turn cut to what was heard."""
        ...

    def cancel_pending_reply(self) -> None:
        """Drop a reply none of which has been heard."""
        ...

    def reply(self, *, history: list[ChatMessage], metrics: TurnMetrics, speculative_text: str | None = None) -> None:
        ...


class CallerTurns:
    def __init__(
        self,
        *,
        strategy: InterruptionStrategy,
        floor: Floor,
        transcript: Transcript,
        timers: CallTimers,
        metrics: ConversationMetrics,
    ) -> None:
        self._strategy = strategy
        self._floor = floor
        self._transcript = transcript
        self._timers = timers
        self._metrics = metrics
        self._finals: list[str] = []  # the caller's current utterance
        self._utterance_started_at: float | None = None
        self._last_voiced_at: float | None = None

    @property
    def mid_utterance(self) -> bool:
        """The recogniser has final words of an utterance whose end it has not reported."""
        return bool(self._finals)

    def heard_voice(self, now: float, persona_audible: bool) -> None:
        self._last_voiced_at = now
        if not persona_audible:
            if self._utterance_started_at is None:
                self._utterance_started_at = now
            self._timers.note_activity(now)

    def frame(self, voiced: bool, now: float) -> None:
        """One frame while the persona is audible and may be interrupted."""
        self._apply(self._strategy.frame(voiced, now), now)

    def speech_started(self, now: float) -> None:
        turn = self._floor.turn
        if turn is not None and turn.audible and turn.interruptible:
            self._apply(self._strategy.speech_started(now), now)

    def transcript(self, update: TranscriptUpdate, now: float) -> None:
        text = update.text.strip()
        turn = self._floor.turn
        if text:
            self._timers.note_activity(now)
            if turn is not None and turn.audible:
                if turn.interruptible:
                    self._apply(self._strategy.transcript(text, turn.audio.spoken_text), now)
            elif turn is not None and turn.task is not None and turn.speculative_text is None and words(text):
                self._floor.cancel_pending_reply()  # they went on talking before the reply was heard
            if self._utterance_started_at is None and not self._persona_audible():
                self._utterance_started_at = now
        if update.is_final and text and not self._acknowledges_persona(text):
            self._finals.append(text)
        if update.end_of_turn:
            self._end_of_turn(now)

    def eager_end_of_turn(self, event: EagerEndOfTurn) -> None:
        """Flux thinks the caller is done: start the reply, but hold its words until it is sure."""
        text = " ".join([*self._finals, event.text]).strip()
        if not words(text) or not self._floor.conversing or self._persona_audible():
            return
        self._floor.cancel_pending_reply()
        metrics = self._new_metrics()
        history = [*self._transcript.history, ChatMessage(role="user", content=text)]
        self._floor.reply(history=history, metrics=metrics, speculative_text=text)

    def turn_resumed(self) -> None:
        turn = self._floor.turn
        if turn is not None and turn.speculative_text is not None:
            self._floor.cancel_pending_reply()

    def record_unfinished(self) -> None:
        """The stream is over: what the caller was saying is recorded as it stands."""
        text = " ".join(self._finals).strip()
        if words(text):
            self._transcript.person_said(text, at=self._utterance_started_at or 0.0)
        self._finals = []

    def reset_interruption(self) -> None:
        """The persona's turn was interrupted or resumed: the strategy starts afresh."""
        self._strategy.reset()

    def _end_of_turn(self, now: float) -> None:
        text = " ".join(self._finals).strip()
        started_at = self._utterance_started_at
        self._finals = []
        self._utterance_started_at = None
        turn = self._floor.turn
        if not words(text):
            return
        if self._acknowledges_persona(text):
            return
        if turn is not None and turn.audible and turn.interruptible:
            self._commit(now)
        self._transcript.person_said(text, at=started_at or now)
        if not self._floor.conversing:
            return
        turn = self._floor.turn
        if turn is not None and turn.speculative_text is not None and same_words(turn.speculative_text, text):
            turn.speculative_text = None
            if turn.metrics is not None:
                turn.metrics.end_of_speech_at = self._last_voiced_at
                turn.metrics.begin()
            turn.released.set()
            return
        self._floor.cancel_pending_reply()
        self._floor.reply(history=self._transcript.history, metrics=self._new_metrics())

    def _acknowledges_persona(self, text: str) -> bool:
        """An "mm-hm" (or the persona's own echo) while it talks: not a turn, not part of the next one."""
        turn = self._floor.turn
        return turn is not None and turn.audible and self._strategy.acknowledges(text, turn.audio.spoken_text)

    def _apply(self, action: BargeIn, now: float) -> None:
        if action is BargeIn.PAUSE:
            if self._floor.pause_persona(now):  # the rest is held until we know whether it was a turn
                self._note_barge_in(now)
        elif action is BargeIn.COMMIT:
            self._commit(now)
        elif action is BargeIn.RESUME:
            self._strategy.reset()  # it was not a turn (a cough, an "mm-hm")
            self._floor.resume_persona()

    def _commit(self, now: float) -> None:
        """The caller has the turn: the persona stops for good, cut to what was heard."""
        turn = self._floor.turn
        if turn is None or not turn.interruptible:
            return
        if not self._floor.persona_paused:
            self._note_barge_in(now)
        if self._utterance_started_at is None:
            self._utterance_started_at = self._strategy.run_started_at or now
        self._floor.interrupt_persona(now)

    def _note_barge_in(self, now: float) -> None:
        started_at = self._strategy.run_started_at
        if started_at is not None:
            self._metrics.barge_in_ms.append((now - started_at) * 1000)

    def _persona_audible(self) -> bool:
        turn = self._floor.turn
        return turn is not None and turn.audible

    def _new_metrics(self) -> TurnMetrics:
        """Timings for a reply; kept once its first audio goes out (a dropped reply has none)."""
        metrics = TurnMetrics(index=-1, end_of_speech_at=self._last_voiced_at)
        metrics.begin()
        return metrics
