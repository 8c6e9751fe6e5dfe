"""The small async interfaces the voice engine talks to, one per kind of provider.

Plain dataclasses and Protocols with no Django imports, so the engine and its tests can
use any implementation: the real adapters (Deepgram, an OpenAI-compatible LLM, ElevenLabs)
or the local stand-ins (PocketSphinx, a scripted persona, espeak-ng).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

# --- Speech to text -------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechStarted:
    """The recogniser heard speech begin (Deepgram SpeechStarted / Flux StartOfTurn)."""

    timestamp: float  # seconds from stream start, as the provider reports


@dataclass(frozen=True)
class TranscriptUpdate:
    """A final update carries the stretch of text finalised since the previous final one; an
    interim update the not-yet-final stretch after those. What was heard so far in a turn is
    therefore the finals joined plus the latest interim. An end-of-turn update may have empty
    text when the turn's words already came in earlier finals.
    """

    text: str
    is_final: bool  # this stretch of text will not change
    end_of_turn: bool  # the person finished their turn (speech_final, UtteranceEnd, Flux EndOfTurn)


@dataclass(frozen=True)
class EagerEndOfTurn:
    """Flux: the person has probably finished; the LLM may start speculatively."""

    text: str


@dataclass(frozen=True)
class TurnResumed:
    """Flux: the person went on talking; drop the speculative reply."""


SttEvent = SpeechStarted | TranscriptUpdate | EagerEndOfTurn | TurnResumed


class SttStream(Protocol):
    async def send_audio(self, mulaw: bytes) -> None:
        """8 kHz mono mu-law, passed through untouched."""

    async def keep_alive(self) -> None:
        """Called while the persona talks (Deepgram KeepAlive)."""

    def events(self) -> AsyncIterator[SttEvent]:
        """Read by one task; raises ProviderError if the stream fails, ends after close()."""
        ...

    async def close(self) -> None:
        """CloseStream, then close the socket."""


class SpeechToText(Protocol):
    label: str  # names the provider and model where its usage is shown ("deepgram nova-3")
    # Audio per message to the recogniser: fewer, larger messages cost less per call, at the
    # price of up to this much delay on the last words (Twilio's frames are 20 ms).
    audio_chunk_ms: int

    async def open_stream(self) -> SttStream: ...


# --- Language model -------------------------------------------------------------------


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict  # JSON schema


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict


@dataclass(frozen=True)
class Usage:
    """The tokens one request consumed, as the server reported them: the stream's last item.
    A server that reports none (or a reply cut off before the end) yields no Usage, and its
    tokens stay unknown rather than guessed."""

    input_tokens: int
    output_tokens: int


LlmItem = TextDelta | ToolCall | Usage


class LanguageModel(Protocol):
    label: str

    def stream_reply(
        self,
        *,
        messages: Sequence[ChatMessage],
        model: str,
        temperature: float,
        tools: Sequence[ToolSpec] = (),
    ) -> AsyncIterator[LlmItem]:
        """Cancelling the consuming task (or aclose()) aborts the HTTP request."""
        ...


# --- Text to speech -------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceSettings:
    voice_id: str
    stability: float
    similarity: float
    speed: float


@dataclass(frozen=True)
class AudioChunk:
    context_id: str
    mulaw: bytes  # 8 kHz mu-law (ElevenLabs output_format=ulaw_8000)
    # (character, start_ms, duration_ms), start_ms from the start of THIS chunk's audio
    alignment: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class ContextDone:
    """All audio of a context has been delivered."""

    context_id: str


class TtsSession(Protocol):
    """One websocket per call, one context per persona turn."""

    async def send_text(self, context_id: str, text: str, *, flush: bool = False) -> None: ...

    async def finish(self, context_id: str) -> None:
        """No more text for this context; its ContextDone follows its last audio (at once if
        it was given no text)."""

    async def cancel(self, context_id: str) -> None:
        """Barge-in: close the context, keep the socket. Nothing more of that context is
        delivered, not even its ContextDone."""

    def audio(self) -> AsyncIterator[AudioChunk | ContextDone]:
        """Read by one task; raises ProviderError if the session fails, ends after close()."""
        ...

    async def close(self) -> None: ...


class TextToSpeech(Protocol):
    label: str

    async def open_session(self, voice: VoiceSettings) -> TtsSession: ...

    async def synthesize(self, text: str, voice: VoiceSettings) -> bytes:
        """A whole clip, 8 kHz mu-law."""
        ...


class ProviderError(Exception):
    """Any provider failure the engine must survive."""


END_OF_STREAM = object()


async def queued_output(queue: asyncio.Queue) -> AsyncIterator:
    """What a provider's worker put on `queue`, up to END_OF_STREAM. A ProviderError the worker
    queued is raised here, in the engine's reading task, where it can be handled."""
    while True:
        item = await queue.get()
        if item is END_OF_STREAM:
            return
        if isinstance(item, ProviderError):
            raise item
        yield item
