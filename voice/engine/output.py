"""The output channel: what goes down the line to the caller.

Each audio chunk is followed by its mark (Twilio echoes the mark once the audio before it
has played: see playback.py); a `clear` drops what the line has not played yet. On a
barge-in the channel pauses: `clear` goes out at once and the turn's remaining audio is
held, to be played again from the interrupted word if the caller was not taking the turn.
One lock keeps audio+mark pairs and clears from interleaving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from voice.engine.call import CallOutput, Clock
from voice.engine.playback import OutboundChunk, Playback, TurnAudio
from voice.engine.replies import PersonaTurn, Spawn, TurnProgress


class OutputChannel:
    def __init__(
        self,
        output: CallOutput,
        clock: Clock,
        *,
        spawn: Spawn,
        is_current: Callable[[PersonaTurn], bool],
        on_first_audio: Callable[[PersonaTurn], None],
    ) -> None:
        self._output = output
        self._clock = clock
        self._spawn = spawn
        self._is_current = is_current  # the turn the persona is saying now
        self._on_first_audio = on_first_audio
        self._playback = Playback()
        self._lock = asyncio.Lock()
        self._clear_pending = False
        self.paused = False  # a clear went out; the turn's remaining audio is held

    @property
    def audible(self) -> bool:
        """Audio sent that has not finished playing."""
        return self._playback.audible

    async def deliver(self, turn: PersonaTurn, chunk: OutboundChunk) -> None:
        """A chunk of the current turn to the caller, or into its held audio while paused."""
        async with self._lock:
            if not self._is_current(turn) or turn.progress is TurnProgress.STOPPED:
                return
            if turn.offset_ms is None:
                self._on_first_audio(turn)
            if self.paused:
                turn.audio.held.append(chunk)
                return
            await self._send(turn.audio, chunk)

    def mark_played(self, name: str) -> TurnAudio | None:
        """Twilio echoed a mark; returns the turn audio that was heard, None for a flushed mark."""
        return self._playback.played(name, self._clock.now())

    def pause(self, now: float) -> bool:
        """Stop the persona's audio at once and hold the rest; False when already paused."""
        if self.paused:
            return False
        self.paused = True
        self._playback.clear(now)
        self._request_clear()
        return True

    async def resume(self, turn: PersonaTurn) -> None:
        """Play the held audio again (from the interrupted word) and carry on."""
        async with self._lock:
            while self._is_current(turn) and turn.audio.held:
                await self._send(turn.audio, turn.audio.held.pop(0))
            if self._is_current(turn):
                self.paused = False

    def stop(self, now: float) -> None:
        """The persona stops for good: clear what the line still plays (if a pause has not already)."""
        if not self.paused and self._playback.audible:
            self._playback.clear(now)
            self._request_clear()
        self.paused = False

    def count_heard(self, now: float) -> None:
        """The stream is over: what was playing counts as heard up to now."""
        self._playback.clear(now)

    async def _send(self, audio: TurnAudio, chunk: OutboundChunk) -> None:
        """Audio then its mark, after any clear still to go out; the caller holds the lock."""
        await self._send_pending_clear()
        mark = self._playback.sent(audio, chunk, self._clock.now())
        await self._output.send_audio(chunk.mulaw)
        await self._output.send_mark(mark)

    def _request_clear(self) -> None:
        """From synchronous code: the clear goes out before any audio sent after this point."""
        self._clear_pending = True
        self._spawn(self._flush_clear())

    async def _flush_clear(self) -> None:
        async with self._lock:
            await self._send_pending_clear()

    async def _send_pending_clear(self) -> None:
        if self._clear_pending:
            self._clear_pending = False
            await self._output.send_clear()
