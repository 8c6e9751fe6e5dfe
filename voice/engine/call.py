"""The engine's boundary with the transport: what it is told about a call, what it needs
to reach the caller, and its clock."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

from voice.providers.base import VoiceSettings


@dataclass(frozen=True)
class CallContext:
    """Everything the engine needs about one call, loaded and checked by the transport."""

    call_id: str
    persona_name: str
    system_prompt: str
    pretext: str  # scenario pretext, may be ""
    first_name: str
    opening_line: str
    authorized_seconds: int
    voice: VoiceSettings
    llm_model: str
    llm_temperature: float
    opening_audio: bytes | None = None  # cached clip of opening_line, played at once
    fallback_line: str = ""  # what the persona says when a provider fails mid-call
    fallback_audio: bytes | None = None  # cached clip of fallback_line (no provider needed to play it)


@dataclass(frozen=True)
class HeardTurn:
    index: int
    speaker: str  # "person" | "persona"
    text: str  # persona turns cut to the words actually played
    interrupted: bool
    offset_ms: int


class CallOutput(Protocol):
    """The line to the caller, as the transport speaks it (Twilio's `media`, `mark`, `clear`)."""

    async def send_audio(self, mulaw: bytes) -> None: ...

    async def send_mark(self, name: str) -> None: ...

    async def send_clear(self) -> None: ...

    async def end_call(self, reason: str) -> None: ...

    def record_turn(self, turn: HeardTurn) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
