"""The conversation's tunables, one frozen object per call (tests and the benchmark pass their own)."""

from __future__ import annotations

from dataclasses import dataclass, field

from voice.engine.turn_taking import BargeInConfig
from voice.engine.vad import VadConfig


@dataclass(frozen=True)
class ConversationConfig:
    vad: VadConfig = field(default_factory=VadConfig)
    barge_in: BargeInConfig = field(default_factory=BargeInConfig)
    clause_max_chars: int = 90  # a clause without punctuation is cut (on a word) past this length
    history_limit: int = 40  # conversation messages sent to the LLM with each turn
    keep_alive_seconds: float = 5.0  # KeepAlive to the recogniser while the persona talks
    silence_prompt_seconds: float = 8.0  # quiet after the persona's turn before a gentle prompt
    silence_end_seconds: float = 30.0  # further quiet after that prompt before a polite goodbye
    goodbye_before_limit_seconds: float = 60.0  # the persona wraps up this long before the authorised time
    goodbye_grace_seconds: float = 3.0  # past a goodbye's audio, end even if its mark never came back
    inbound_backlog_frames: int = 250  # caller audio kept for a slow recogniser (5 s), oldest dropped
    hangup_line: str = "I'm so sorry, I have to go now. Goodbye, {first_name}!"
    silence_prompt_note: str = (
        "The other person has been silent for a while. Gently check that they are still there, "
        "in one short sentence that fits the conversation."
    )
    silence_goodbye_note: str = (
        "The other person has still said nothing. Say a warm, short goodbye in one sentence; the call will end."
    )
    time_limit_note: str = (
        "The time for this call is almost up. Wrap up now: say a warm, short goodbye in one or two "
        "sentences; the call will end after it."
    )
