"""What was said on the call, as heard: the history the LLM is given, and each turn handed
to the transport to store (the persona's cut to the words that were played)."""

from __future__ import annotations

from voice.engine.call import CallOutput, Clock, HeardTurn
from voice.engine.replies import PersonaTurn
from voice.providers.base import ChatMessage


class Transcript:
    def __init__(self, output: CallOutput, clock: Clock) -> None:
        self._output = output
        self._clock = clock
        self.history: list[ChatMessage] = []
        self._recorded = 0
        self._started_at = 0.0

    def start(self, now: float) -> None:
        """Offsets are counted from now."""
        self._started_at = now

    def offset_ms(self, at: float) -> int:
        return max(0, round((at - self._started_at) * 1000))

    def persona_said(self, turn: PersonaTurn, *, interrupted: bool) -> None:
        """The words of the turn that were heard, if any."""
        text = turn.audio.heard_text
        if not text:
            return
        self.history.append(ChatMessage(role="assistant", content=text))
        offset_ms = turn.offset_ms if turn.offset_ms is not None else self.offset_ms(self._clock.now())
        self._record(speaker="persona", text=text, interrupted=interrupted, offset_ms=offset_ms)

    def person_said(self, text: str, *, at: float) -> None:
        """One utterance of the caller's, begun at `at`."""
        self._record(speaker="person", text=text, interrupted=False, offset_ms=self.offset_ms(at))
        self.history.append(ChatMessage(role="user", content=text))

    def _record(self, *, speaker: str, text: str, interrupted: bool, offset_ms: int) -> None:
        turn = HeardTurn(index=self._recorded, speaker=speaker, text=text, interrupted=interrupted, offset_ms=offset_ms)
        self._recorded += 1
        self._output.record_turn(turn)
