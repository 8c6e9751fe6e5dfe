"""In-memory stand-ins for the engine's own interfaces, and a fake phone line, for engine unit tests.

These implement the Protocols of voice/providers/base.py and voice/engine/call.py with no
network: a scripted recogniser the test feeds events into, a scripted LLM replying from a
list, a TTS that turns each text into audio with character timings, a fake clock, and a
Twilio line that plays audio in (fake) real time, echoes marks once the audio before them
has played and, on `clear`, drops its buffer and echoes every remaining mark at once.
The real providers are exercised over real sockets elsewhere.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from voice.engine.call import CallContext, HeardTurn
from voice.engine.config import ConversationConfig
from voice.engine.conversation import Conversation
from voice.engine.turn_taking import InterruptionStrategy
from voice.providers.base import (
    AudioChunk,
    ChatMessage,
    ContextDone,
    LlmItem,
    ProviderError,
    SttEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
    VoiceSettings,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

FRAME = 0.02
MS_PER_CHAR = 50  # the scripted TTS speaks a character every 50 ms
SILENCE = b"\xff" * 160
FALLBACK_LINE = "Sorry dear, the line is bad, I will call you back."


def voiced_frames(count: int = 50, f0: float = 140.0, amplitude: float = 2000.0) -> list[bytes]:
    """A buzzy vowel-like tone (a 140 Hz fundamental with its harmonics), which webrtcvad takes as speech."""
    frames = []
    for index in range(count):
        samples = []
        for offset in range(160):
            t = (index * 160 + offset) / 8000
            value = sum(math.sin(2 * math.pi * f0 * harmonic * t) / harmonic for harmonic in range(1, 20))
            samples.append(int(value * amplitude).to_bytes(2, "little", signed=True))
        frames.append(audioop.lin2ulaw(b"".join(samples), 2))
    return frames


VOICED = voiced_frames()


class FakeClock:
    """Time moves only when the test says so; sleepers wake in deadline order."""

    def __init__(self) -> None:
        self._now = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._order), future))
        await future

    async def advance(self, seconds: float, on_tick: Callable[[], None] | None = None) -> None:
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self._now = max(self._now, deadline)
            if on_tick is not None:
                on_tick()
            future.set_result(None)
            await settle()
        self._now = target
        if on_tick is not None:
            on_tick()
        await settle()


async def settle(rounds: int = 30) -> None:
    """Let every ready task run (the scripted parts have no latency of their own)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class ScriptedSttStream:
    def __init__(self) -> None:
        self._events: asyncio.Queue[SttEvent | Exception] = asyncio.Queue()
        self.audio_bytes = 0
        self.audio_messages = 0
        self.keep_alives = 0
        self.closed = False

    def emit(self, event: SttEvent) -> None:
        self._events.put_nowait(event)

    def fail(self, message: str = "recogniser went away") -> None:
        self._events.put_nowait(ProviderError(message))

    async def send_audio(self, mulaw: bytes) -> None:
        self.audio_bytes += len(mulaw)
        self.audio_messages += 1

    async def keep_alive(self) -> None:
        self.keep_alives += 1

    async def events(self) -> AsyncIterator[SttEvent]:
        while True:
            event = await self._events.get()
            if isinstance(event, Exception):
                raise event
            yield event

    async def close(self) -> None:
        self.closed = True


class ScriptedStt:
    label = "scripted recogniser"

    def __init__(self, *, audio_chunk_ms: int = 20) -> None:
        self.stream = ScriptedSttStream()
        self.audio_chunk_ms = audio_chunk_ms

    async def open_stream(self) -> ScriptedSttStream:
        return self.stream


Script = Sequence[TextDelta | ToolCall | Usage | asyncio.Event | Exception]


@dataclass
class LlmCall:
    messages: list[ChatMessage]
    model: str
    temperature: float
    tools: list[ToolSpec]
    finished: bool = False
    cancelled: bool = False


class ScriptedLlm:
    """Each request takes the next script: deltas, tool calls and usage, an Event to wait on, or an error to raise."""

    label = "scripted model"

    def __init__(self, *scripts: Script) -> None:
        self._scripts = list(scripts)
        self.calls: list[LlmCall] = []

    def then(self, *scripts: Script) -> None:
        self._scripts.extend(scripts)

    async def stream_reply(
        self, *, messages: Sequence[ChatMessage], model: str, temperature: float, tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[LlmItem]:
        call = LlmCall(list(messages), model, temperature, list(tools))
        self.calls.append(call)
        script = self._scripts.pop(0) if self._scripts else [TextDelta("Mm.")]
        try:
            for item in script:
                if isinstance(item, asyncio.Event):
                    await item.wait()
                elif isinstance(item, Exception):
                    raise item
                else:
                    yield item
            call.finished = True
        except (asyncio.CancelledError, GeneratorExit):
            call.cancelled = True
            raise


def reply(text: str, *extra: TextDelta | ToolCall | Usage | asyncio.Event | Exception) -> list:
    """A script streaming `text` a word at a time, then `extra`."""
    pieces = text.split(" ")
    deltas = [TextDelta(piece if index == 0 else " " + piece) for index, piece in enumerate(pieces)]
    return [*deltas, *extra]


def speech_for(text: str) -> AudioChunk:
    """What the scripted TTS makes of a text: MS_PER_CHAR per character, with its timings."""
    alignment = tuple((char, index * MS_PER_CHAR, MS_PER_CHAR) for index, char in enumerate(text))
    return AudioChunk(context_id="", mulaw=b"\x7f" * (len(text) * MS_PER_CHAR * 8), alignment=alignment)


class ScriptedTtsSession:
    """Speaks each text at once (one chunk per send_text); ContextDone follows finish()."""

    def __init__(self) -> None:
        self._audio: asyncio.Queue[AudioChunk | ContextDone | Exception] = asyncio.Queue()
        self.texts: list[tuple[str, str, bool]] = []  # (context_id, text, flush)
        self.finished: list[str] = []
        self.cancelled: list[str] = []
        self.closed = False
        self.fail_on_text = False

    async def send_text(self, context_id: str, text: str, *, flush: bool = False) -> None:
        if self.fail_on_text:
            raise ProviderError("speech synthesis refused the text")
        self.texts.append((context_id, text, flush))
        chunk = speech_for(text)
        self._audio.put_nowait(AudioChunk(context_id, chunk.mulaw, chunk.alignment))

    async def finish(self, context_id: str) -> None:
        self.finished.append(context_id)
        self._audio.put_nowait(ContextDone(context_id))

    async def cancel(self, context_id: str) -> None:
        self.cancelled.append(context_id)

    async def audio(self) -> AsyncIterator[AudioChunk | ContextDone]:
        while True:
            item = await self._audio.get()
            if isinstance(item, Exception):
                raise item
            yield item

    async def close(self) -> None:
        self.closed = True

    def text_of(self, context_id: str) -> str:
        return "".join(text for context, text, _ in self.texts if context == context_id)


class ScriptedTts:
    label = "scripted speech"

    def __init__(self) -> None:
        self.session = ScriptedTtsSession()
        self.voices: list[VoiceSettings] = []

    async def open_session(self, voice: VoiceSettings) -> ScriptedTtsSession:
        self.voices.append(voice)
        return self.session

    async def synthesize(self, text: str, voice: VoiceSettings) -> bytes:
        return speech_for(text).mulaw


@dataclass
class FakeTwilioLine:
    """A CallOutput that plays like Twilio: in real (fake-clock) time, marks echoed as audio finishes."""

    clock: FakeClock
    sent: list[tuple] = field(default_factory=list)  # ("audio", bytes) | ("mark", name) | ("clear",)
    turns: list[HeardTurn] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    conversation: Conversation | None = None
    _playhead: float = 0.0
    _pending_marks: list[tuple[float, str]] = field(default_factory=list)

    async def send_audio(self, mulaw: bytes) -> None:
        start = max(self.clock.now(), self._playhead)
        self._playhead = start + len(mulaw) / 8000
        self.sent.append(("audio", mulaw))

    async def send_mark(self, name: str) -> None:
        self._pending_marks.append((max(self.clock.now(), self._playhead), name))
        self.sent.append(("mark", name))

    async def send_clear(self) -> None:
        self.sent.append(("clear",))
        self._playhead = self.clock.now()
        flushed, self._pending_marks = self._pending_marks, []
        for _, name in flushed:
            self.conversation.mark_played(name)

    async def end_call(self, reason: str) -> None:
        self.ended.append(reason)

    def record_turn(self, turn: HeardTurn) -> None:
        self.turns.append(turn)

    def play(self) -> None:
        """Echo the marks whose audio has finished by now."""
        now = self.clock.now()
        while self._pending_marks and self._pending_marks[0][0] <= now:
            _, name = self._pending_marks.pop(0)
            self.conversation.mark_played(name)

    def count(self, kind: str) -> int:
        return sum(1 for item in self.sent if item[0] == kind)


def call_context(**overrides) -> CallContext:
    fields = {
        "call_id": "call-1",
        "persona_name": "Grandma Rose",
        "system_prompt": "You are Grandma Rose, a warm grandmother who loves baking.",
        "pretext": "You are calling to invite them to Sunday lunch.",
        "first_name": "Alex",
        "opening_line": "Hello Alex, it is Grandma!",
        "authorized_seconds": 600,
        "voice": VoiceSettings(voice_id="voice-1", stability=0.5, similarity=0.75, speed=1.0),
        "llm_model": "test-model",
        "llm_temperature": 0.7,
        "opening_audio": speech_for("Hello Alex, it is Grandma!").mulaw,
        "fallback_line": FALLBACK_LINE,
        "fallback_audio": speech_for(FALLBACK_LINE).mulaw,
    }
    fields.update(overrides)
    return CallContext(**fields)


class PhoneCall:
    """A conversation wired to scripted providers, a fake clock and a fake Twilio line."""

    def __init__(
        self,
        llm: ScriptedLlm | None = None,
        config: ConversationConfig | None = None,
        stt: ScriptedStt | None = None,
        interruptions: InterruptionStrategy | None = None,
        **context,
    ) -> None:
        self.clock = FakeClock()
        self.stt = stt or ScriptedStt()
        self.llm = llm or ScriptedLlm()
        self.tts = ScriptedTts()
        self.line = FakeTwilioLine(self.clock)
        self.conversation = Conversation(
            context=call_context(**context),
            stt=self.stt,
            llm=self.llm,
            tts=self.tts,
            output=self.line,
            clock=self.clock,
            config=config,
            interruptions=interruptions,
        )
        self.line.conversation = self.conversation

    async def start(self) -> None:
        await self.conversation.start()
        await settle()

    async def wait(self, seconds: float) -> None:
        """Time passes with no caller audio (the line keeps playing)."""
        await self.clock.advance(seconds, on_tick=self.line.play)

    async def caller(self, frames: Sequence[bytes]) -> None:
        """The caller's audio, one 20 ms frame at a time, in (fake) real time."""
        for frame in frames:
            self.conversation.receive_audio(frame)
            await self.clock.advance(FRAME, on_tick=self.line.play)

    async def silence(self, seconds: float) -> None:
        await self.caller([SILENCE] * round(seconds / FRAME))

    async def voice(self, frames: int) -> None:
        await self.caller([VOICED[index % len(VOICED)] for index in range(frames)])

    async def hear(self, event: SttEvent) -> None:
        self.stt.stream.emit(event)
        await settle()

    async def until(self, condition: Callable[[], bool], limit: float = 60.0) -> None:
        """Let the call run (the caller quiet) until `condition` holds; bounded in fake time."""
        waited = 0.0
        while not condition():
            assert waited < limit, "the call never got there"
            await self.silence(0.1)
            waited += 0.1

    def persona_turns(self) -> list[HeardTurn]:
        return [turn for turn in self.line.turns if turn.speaker == "persona"]

    def person_turns(self) -> list[HeardTurn]:
        return [turn for turn in self.line.turns if turn.speaker == "person"]


def run(coroutine) -> None:
    asyncio.run(coroutine)
