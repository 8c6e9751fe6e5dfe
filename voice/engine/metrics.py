"""What the engine measures on a call: its own latencies (for operators and the benchmark)
and the providers' billable work (for the call's cost)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from voice.providers.base import Usage


@dataclass
class TurnMetrics:
    """Timings of one reply to the caller, for the benchmark."""

    index: int  # position in ConversationMetrics.turns
    end_of_speech_at: float | None  # the caller's last voiced frame before the end of their turn (clock time)
    voice_to_voice_ms: float | None = None  # end of speech -> first audio frame sent
    overhead_ms: float = 0.0  # time in this code on the path to the first audio, provider waits excluded
    _since: float | None = field(default=None, repr=False)

    def begin(self) -> None:
        """A provider event arrived: our time starts."""
        self._since = time.perf_counter()

    def stop(self) -> None:
        """We handed work to a provider (or to the caller): our time stops."""
        if self._since is not None:
            self.overhead_ms += (time.perf_counter() - self._since) * 1000
            self._since = None


@dataclass
class ConversationMetrics:
    turns: list[TurnMetrics] = field(default_factory=list)
    barge_in_ms: list[float] = field(default_factory=list)  # first voiced frame -> clear
    frames: int = 0

    def first_audio(self, metrics: TurnMetrics, now: float) -> None:
        """A reply's first audio goes out: its timings are kept (a dropped reply has none)."""
        metrics.stop()
        metrics.index = len(self.turns)
        self.turns.append(metrics)
        if metrics.end_of_speech_at is not None:
            metrics.voice_to_voice_ms = (now - metrics.end_of_speech_at) * 1000


@dataclass
class ProviderUsage:
    """The providers' billable work on one call, counted as it is handed over: what was sent
    or generated is billed whether or not the caller heard it (a reply cut off by a barge-in
    included)."""

    stt_audio_bytes: int = 0  # caller audio sent to the recogniser (8 kHz mu-law, a byte a sample)
    llm_requests: int = 0  # replies asked of the LLM
    llm_reported: int = 0  # of those, the ones whose token usage the server reported
    llm_input_tokens: int = 0  # reported tokens only
    llm_output_tokens: int = 0
    tts_characters: int = 0  # text sent to the TTS

    def add_llm(self, usage: Usage) -> None:
        self.llm_reported += 1
        self.llm_input_tokens += usage.input_tokens
        self.llm_output_tokens += usage.output_tokens
