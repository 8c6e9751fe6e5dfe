"""The live conversation engine: one phone call between a person and a persona.

Plain asyncio, no Django: the transport (voice/consumers.py) feeds it the caller's audio
frames, Twilio's mark echoes and DTMF, and gives it a `CallOutput` to send audio, marks
and clears and to hang up; the providers come in through the interfaces of
`voice/providers/base.py`. A test drives it with scripted providers and a fake clock.

Per call it runs a handful of long-lived tasks (audio to the recogniser, the recogniser's
events, the TTS audio, one timer task) plus one task per persona reply. `receive_audio`
is synchronous and cheap: the VAD verdict, a barge-in step and a queue append, with no
task per frame. See voice/turns.py for how barge-in is decided and voice/playback.py for
how what was heard is worked out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from voice.clauses import ClauseBuffer
from voice.playback import OutboundChunk, Playback, TurnAudio
from voice.prompt import END_CALL_TOOL, build_messages, persona_instructions
from voice.providers.base import (
    AudioChunk,
    ChatMessage,
    EagerEndOfTurn,
    LanguageModel,
    ProviderError,
    SpeechStarted,
    SpeechToText,
    SttStream,
    TextDelta,
    TextToSpeech,
    ToolCall,
    TranscriptUpdate,
    TtsSession,
    TurnResumed,
    Usage,
    VoiceSettings,
)
from voice.turns import BargeIn, BargeInConfig, BargeInDetector, is_backchannel, is_echo, same_words, talks_over, words
from voice.vad import FRAME_SECONDS, VadConfig, VoiceActivityDetector

logger = logging.getLogger(__name__)


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


@dataclass(eq=False)
class PersonaTurn:
    """One thing the persona says: a reply, the opening, a goodbye or the fallback line."""

    context_id: str
    interruptible: bool = True
    end_reason: str | None = None  # hang up with this reason once it has been heard
    audio: TurnAudio = field(default_factory=TurnAudio)
    generating: bool = True  # more audio may come
    interrupted: bool = False
    task: asyncio.Task | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event)  # a speculative reply waits on it
    speculative_text: str | None = None  # the caller's words it was started on (Flux EagerEndOfTurn)
    metrics: TurnMetrics | None = None
    offset_ms: int | None = None  # when its first audio went out
    first_text_sent: bool = False


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
    ) -> None:
        self._context = context
        self._stt_provider = stt
        self._llm = llm
        self._tts_provider = tts
        self._output = output
        self._clock = clock or MonotonicClock()
        self._config = config or ConversationConfig()
        self._instructions = persona_instructions(
            persona_name=context.persona_name,
            system_prompt=context.system_prompt,
            pretext=context.pretext,
            first_name=context.first_name,
        )
        self._vad = VoiceActivityDetector(self._config.vad)
        self._barge_in = BargeInDetector(self._config.barge_in)
        self._playback = Playback()
        self._metrics = ConversationMetrics()
        self._usage = ProviderUsage()
        self._history: list[ChatMessage] = []
        self._stt: SttStream | None = None
        self._tts: TtsSession | None = None
        self._tasks: set[asyncio.Task] = set()
        self._inbound: deque[bytes] = deque(maxlen=self._config.inbound_backlog_frames)
        self._inbound_ready = asyncio.Event()
        self._inbound_chunk_frames = max(1, round(stt.audio_chunk_ms / 1000 / FRAME_SECONDS))
        self._output_lock = asyncio.Lock()  # audio+mark pairs and clears never interleave
        self._turn: PersonaTurn | None = None  # the persona turn being generated or played
        self._paused = False  # a clear went out; the turn's remaining audio is held
        self._contexts = 0
        self._recorded = 0
        self._finals: list[str] = []  # the caller's current utterance
        self._utterance_started_at: float | None = None
        self._last_voiced_at: float | None = None
        self._started_at = 0.0
        self._last_activity = 0.0
        self._silence_prompted = False
        self._wrap_up_at = float("inf")
        self._wrap_up_due = False
        self._keep_alive_at: float | None = None
        self._goodbye_deadline: float | None = None  # end even if a goodbye's last mark never comes back
        self._goodbye_reason = ""
        self._clear_pending = False
        self._timer_wake: asyncio.Future | None = None
        self._closing = False  # a goodbye that cannot be interrupted is under way
        self._failed = False
        self._ended = False

    # --- the transport's side -------------------------------------------------------

    async def start(self) -> None:
        """Open the recogniser and the TTS session and play the opening line."""
        now = self._clock.now()
        self._started_at = self._last_activity = now
        limit = self._context.authorized_seconds
        self._wrap_up_at = now + limit - min(self._config.goodbye_before_limit_seconds, limit / 4)
        self._spawn(self._run_timers())
        opening = self._begin_turn()
        if self._context.opening_audio:
            await self._play_clip(opening, self._context.opening_audio, self._context.opening_line)
        try:
            self._stt = await self._stt_provider.open_stream()
            self._tts = await self._tts_provider.open_session(self._context.voice)
        except ProviderError as error:
            logger.warning("call %s: opening the providers failed: %s", self._context.call_id, error)
            await self._fail("provider_error")
            return
        self._spawn(self._pump_inbound())
        self._spawn(self._read_stt())
        self._spawn(self._read_tts())
        if not self._context.opening_audio:
            self._spawn(self._say(opening, self._context.opening_line))

    def receive_audio(self, mulaw: bytes) -> None:
        """One inbound frame (20 ms of mu-law): to the recogniser, through the VAD, into barge-in."""
        if self._ended or self._failed:
            return
        self._inbound.append(mulaw)
        if len(self._inbound) >= self._inbound_chunk_frames:
            self._inbound_ready.set()
        now = self._clock.now()
        audible = self._persona_audible()
        playing = audible and not self._paused  # after a clear the line carries no echo of the persona
        for voiced in self._vad.frames(mulaw, persona_talking=playing):
            self._metrics.frames += 1
            if voiced:
                self._heard_voice(now, audible)
            if audible and self._turn is not None and self._turn.interruptible:
                self._act(self._barge_in.frame(voiced, now), now)

    def mark_played(self, name: str) -> None:
        """Twilio echoed a mark: the audio before it has been heard."""
        owner = self._playback.played(name, self._clock.now())
        if owner is not None and self._turn is not None and owner is self._turn.audio:
            self._finish_if_heard(self._turn)

    def dtmf(self, digit: str) -> None:
        """A key press counts as the person being there; the persona does not react to digits."""
        self._note_activity(self._clock.now())

    async def request_end(self, reason: str) -> None:
        """The app or an admin hangs up: a short goodbye is started, the call ends once it is heard.

        Returns as soon as the goodbye is on its way, so the transport keeps relaying the
        mark echoes that tell when it has been heard.
        """
        if self._ended or self._closing or self._failed:
            return
        if self._tts is None:
            await self._end(reason)
            return
        self._interrupt_persona(self._clock.now())
        self._cancel_pending_reply()
        turn = self._begin_turn(interruptible=False, end_reason=reason)
        await self._say(turn, self._config.hangup_line.format(first_name=self._context.first_name).strip())

    async def stop(self) -> None:
        """The stream is over (Twilio's stop, socket closed): record what was said, release everything."""
        if self._ended:
            return
        now = self._clock.now()
        if self._turn is not None:
            self._playback.clear(now)
            self._record_persona(self._turn, interrupted=True)
        self._record_person_utterance()
        await self._shut_down()

    @property
    def metrics(self) -> ConversationMetrics:
        return self._metrics

    @property
    def usage(self) -> ProviderUsage:
        return self._usage

    @property
    def context(self) -> CallContext:
        return self._context

    # --- the caller -----------------------------------------------------------------

    def _heard_voice(self, now: float, persona_audible: bool) -> None:
        self._last_voiced_at = now
        if not persona_audible:
            if self._utterance_started_at is None:
                self._utterance_started_at = now
            self._note_activity(now)

    def _note_activity(self, now: float) -> None:
        self._last_activity = now
        self._silence_prompted = False

    def _on_speech_started(self) -> None:
        now = self._clock.now()
        if self._persona_audible() and self._turn is not None and self._turn.interruptible:
            self._act(self._barge_in.speech_started(now), now)

    def _on_transcript(self, update: TranscriptUpdate) -> None:
        now = self._clock.now()
        text = update.text.strip()
        turn = self._turn
        if text:
            self._note_activity(now)
            if self._persona_audible() and turn is not None:
                if turn.interruptible and talks_over(text, turn.audio.spoken_text):
                    self._commit_barge_in(now)
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
        if not words(text) or self._closing or self._persona_audible():
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
        self._record(speaker="person", text=text, interrupted=False, at=started_at or now)
        self._history.append(ChatMessage(role="user", content=text))
        if self._closing:
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
            and (is_backchannel(text) or is_echo(text, turn.audio.spoken_text))
        )

    def _record_person_utterance(self) -> None:
        text = " ".join(self._finals).strip()
        if words(text):
            self._record(speaker="person", text=text, interrupted=False, at=self._utterance_started_at or 0.0)
        self._finals = []

    # --- barge-in -------------------------------------------------------------------

    def _act(self, action: BargeIn, now: float) -> None:
        if action is BargeIn.PAUSE:
            self._pause(now)
        elif action is BargeIn.COMMIT:
            self._commit_barge_in(now)
        elif action is BargeIn.RESUME:
            self._resume()

    def _pause(self, now: float) -> None:
        """Stop the persona's audio at once; keep the rest until we know whether it was a turn."""
        if self._paused:
            return
        self._paused = True
        self._playback.clear(now)
        self._note_barge_in(now)
        self._request_clear()

    def _resume(self) -> None:
        """It was not a turn (a cough, an "mm-hm"): play the held audio from the interrupted word."""
        self._barge_in.reset()
        if self._turn is not None:
            self._spawn(self._resend_held(self._turn))

    def _commit_barge_in(self, now: float) -> None:
        """The caller has the turn: the persona stops for good, cut to what was heard."""
        turn = self._turn
        if turn is None or not turn.interruptible:
            return
        if not self._paused:
            self._note_barge_in(now)
        if self._utterance_started_at is None:
            self._utterance_started_at = self._barge_in.run_started_at or now
        self._interrupt_persona(now)

    def _interrupt_persona(self, now: float) -> None:
        """Stop whatever the persona is saying and record the words that were heard."""
        turn = self._turn
        if turn is None or turn.offset_ms is None:
            return
        if not self._paused and self._playback.audible:
            self._playback.clear(now)
            self._request_clear()
        self._paused = False
        self._goodbye_deadline = None
        self._barge_in.reset()
        self._stop_generating(turn)
        turn.audio.held.clear()
        self._record_persona(turn, interrupted=True)
        self._turn = None
        self._note_activity(now)

    def _note_barge_in(self, now: float) -> None:
        if self._barge_in.run_started_at is not None:
            self._metrics.barge_in_ms.append((now - self._barge_in.run_started_at) * 1000)

    def _persona_audible(self) -> bool:
        turn = self._turn
        return turn is not None and turn.offset_ms is not None

    # --- the persona ----------------------------------------------------------------

    def _begin_turn(self, *, interruptible: bool = True, end_reason: str | None = None) -> PersonaTurn:
        self._contexts += 1
        turn = PersonaTurn(context_id=f"turn-{self._contexts}", interruptible=interruptible, end_reason=end_reason)
        turn.released.set()
        self._turn = turn
        self._closing = self._closing or (end_reason is not None and not interruptible)
        self._keep_alive_at = self._clock.now() + self._config.keep_alive_seconds
        self._wake_timers()
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
        if self._wrap_up_due and end_reason is None:
            note, end_reason = self._config.time_limit_note, "time_limit"
        turn = self._begin_turn(interruptible=end_reason is None, end_reason=end_reason)
        turn.metrics = metrics
        if speculative_text is not None:
            turn.speculative_text = speculative_text
            turn.released.clear()
        messages = build_messages(
            instructions=self._instructions, history=history, history_limit=self._config.history_limit, note=note
        )
        turn.task = self._spawn(self._generate(turn, messages))

    async def _generate(self, turn: PersonaTurn, messages: list[ChatMessage]) -> None:
        """Stream the LLM's reply into the TTS, clause by clause."""
        context = self._context
        clauses = ClauseBuffer(self._config.clause_max_chars)
        self._usage.llm_requests += 1
        stream = self._llm.stream_reply(
            messages=messages, model=context.llm_model, temperature=context.llm_temperature, tools=(END_CALL_TOOL,)
        )
        if turn.metrics is not None:
            turn.metrics.stop()
        try:
            async for item in stream:
                if isinstance(item, TextDelta):
                    measuring = turn.metrics is not None and not turn.first_text_sent
                    if measuring:
                        turn.metrics.begin()
                    for clause in clauses.feed(item.text):
                        await self._send_text(turn, clause)
                    if measuring:
                        turn.metrics.stop()
                elif isinstance(item, ToolCall) and item.name == END_CALL_TOOL.name:
                    turn.end_reason = turn.end_reason or "persona"
                elif isinstance(item, Usage):
                    self._usage.add_llm(item)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:  # a cancelled reply aborts its HTTP request now, not at garbage collection
                await close()
        rest = clauses.flush()
        if rest:
            await self._send_text(turn, rest)
        await self._finish_text(turn)

    async def _say(self, turn: PersonaTurn, text: str) -> None:
        """A fixed line through the TTS session (the opening without a cached clip, a goodbye)."""
        await self._send_text(turn, text)
        await self._finish_text(turn)

    async def _send_text(self, turn: PersonaTurn, text: str) -> None:
        if not turn.released.is_set():  # a speculative reply's words wait until the turn is confirmed
            if turn.metrics is not None:
                turn.metrics.stop()  # waiting for the caller is not our time
            await turn.released.wait()
        if turn.metrics is not None:
            turn.metrics.stop()
        turn.first_text_sent = True
        text += " "
        turn.audio.spoken_text += text
        self._usage.tts_characters += len(text)  # before the await: a barge-in may cancel it mid-send
        await self._tts.send_text(turn.context_id, text, flush=True)

    async def _finish_text(self, turn: PersonaTurn) -> None:
        if turn.audio.spoken_text:
            await self._tts.finish(turn.context_id)  # ContextDone will say when all its audio is here
        else:
            self._audio_complete(turn)  # nothing to say (an end_call on its own)

    async def _play_clip(self, turn: PersonaTurn, mulaw: bytes, text: str) -> None:
        """A cached clip straight to the caller, no provider involved."""
        turn.audio.spoken_text = text
        await self._deliver(turn, OutboundChunk.spread(mulaw, text))
        self._audio_complete(turn)

    async def _on_tts_audio(self, chunk: AudioChunk) -> None:
        turn = self._turn
        if turn is None or chunk.context_id != turn.context_id or turn.interrupted:
            return  # audio of a cancelled turn still in the pipe
        if turn.metrics is not None and turn.offset_ms is None:
            turn.metrics.begin()
        await self._deliver(turn, turn.audio.chunk(chunk.mulaw, chunk.alignment))

    def _audio_complete(self, turn: PersonaTurn) -> None:
        """All of the turn's audio exists; a goodbye gets a deadline in case its marks never return."""
        if turn is not self._turn:
            return
        turn.generating = False
        if turn.end_reason is not None:
            self._goodbye_reason = turn.end_reason
            self._goodbye_deadline = self._clock.now() + turn.audio.sent_ms / 1000 + self._config.goodbye_grace_seconds
            self._wake_timers()
        self._finish_if_heard(turn)

    async def _deliver(self, turn: PersonaTurn, chunk: OutboundChunk) -> None:
        async with self._output_lock:
            if turn is not self._turn or turn.interrupted:
                return
            if turn.offset_ms is None:
                turn.offset_ms = self._offset_ms(self._clock.now())
                self._wake_timers()
                if turn.metrics is not None:
                    self._first_audio(turn.metrics)
            if self._paused:
                turn.audio.held.append(chunk)
                return
            await self._send_chunk(turn, chunk)

    def _first_audio(self, metrics: TurnMetrics) -> None:
        metrics.stop()
        metrics.index = len(self._metrics.turns)
        self._metrics.turns.append(metrics)
        if metrics.end_of_speech_at is not None:
            metrics.voice_to_voice_ms = (self._clock.now() - metrics.end_of_speech_at) * 1000

    async def _send_chunk(self, turn: PersonaTurn, chunk: OutboundChunk) -> None:
        """Audio then its mark, after any clear still to go out; the caller holds the output lock."""
        await self._send_pending_clear()
        mark = self._playback.sent(turn.audio, chunk, self._clock.now())
        await self._output.send_audio(chunk.mulaw)
        await self._output.send_mark(mark)

    def _request_clear(self) -> None:
        """From synchronous code: the clear goes out before any audio sent after this point."""
        self._clear_pending = True
        self._spawn(self._flush_clear())

    async def _flush_clear(self) -> None:
        async with self._output_lock:
            await self._send_pending_clear()

    async def _send_pending_clear(self) -> None:
        if self._clear_pending:
            self._clear_pending = False
            await self._output.send_clear()

    async def _resend_held(self, turn: PersonaTurn) -> None:
        async with self._output_lock:
            while turn is self._turn and turn.audio.held:
                await self._send_chunk(turn, turn.audio.held.pop(0))
            if turn is self._turn:
                self._paused = False
        self._finish_if_heard(turn)

    def _finish_if_heard(self, turn: PersonaTurn) -> None:
        """The turn is over once all its audio exists and every chunk's mark came back."""
        if turn is not self._turn or turn.generating or turn.audio.in_flight or turn.audio.held or self._paused:
            return
        self._turn = None
        self._record_persona(turn, interrupted=False)
        if turn.end_reason is not None:
            self._spawn(self._end(turn.end_reason))
            return
        self._last_activity = self._clock.now()  # silence is counted from the end of the persona's turn
        self._wake_timers()
        if self._wrap_up_due and not self._closing:
            self._start_reply(history=self._history)

    def _record_persona(self, turn: PersonaTurn, *, interrupted: bool) -> None:
        text = turn.audio.heard_text
        if not text:
            return
        self._history.append(ChatMessage(role="assistant", content=text))
        self._record(speaker="persona", text=text, interrupted=interrupted, at=None, offset_ms=turn.offset_ms)

    def _record(
        self, *, speaker: str, text: str, interrupted: bool, at: float | None, offset_ms: int | None = None
    ) -> None:
        if offset_ms is None:
            offset_ms = self._offset_ms(at if at is not None else self._clock.now())
        turn = HeardTurn(index=self._recorded, speaker=speaker, text=text, interrupted=interrupted, offset_ms=offset_ms)
        self._recorded += 1
        self._output.record_turn(turn)

    def _offset_ms(self, at: float) -> int:
        return max(0, round((at - self._started_at) * 1000))

    def _stop_generating(self, turn: PersonaTurn) -> None:
        """Cancel the LLM request and the TTS context of a turn that will not be heard (further)."""
        turn.interrupted = True
        if turn.task is not None and turn.task is not asyncio.current_task():
            turn.task.cancel()
        if turn.generating and turn.audio.spoken_text and self._tts is not None:
            self._spawn(self._tts.cancel(turn.context_id))
        turn.generating = False

    def _cancel_pending_reply(self) -> None:
        """Drop a reply that has not been heard at all (the caller went on, or a newer turn replaces it)."""
        turn = self._turn
        if turn is None or turn.offset_ms is not None or not turn.interruptible:
            return
        self._stop_generating(turn)
        self._turn = None

    # --- timers ---------------------------------------------------------------------

    def _idle(self) -> bool:
        return self._turn is None and not self._finals and not self._closing and not self._ended

    def _next_deadline(self) -> float | None:
        deadlines = [self._wrap_up_at] if not self._wrap_up_due else []
        if self._goodbye_deadline is not None:
            deadlines.append(self._goodbye_deadline)
        if self._turn is not None and self._keep_alive_at is not None:
            deadlines.append(self._keep_alive_at)
        if self._idle():
            wait = self._config.silence_end_seconds if self._silence_prompted else self._config.silence_prompt_seconds
            deadlines.append(self._last_activity + wait)
        return min(deadlines, default=None)

    def _wake_timers(self) -> None:
        """A deadline may have moved earlier: the timer task recomputes its sleep."""
        if self._timer_wake is not None and not self._timer_wake.done():
            self._timer_wake.set_result(None)

    async def _run_timers(self) -> None:
        """One task per call sleeps until the nearest deadline (silence, time limit, KeepAlive)."""
        loop = asyncio.get_running_loop()
        while not self._ended:
            deadline = self._next_deadline()
            self._timer_wake = loop.create_future()
            waiting = {self._timer_wake}
            if deadline is not None:
                waiting.add(asyncio.ensure_future(self._clock.sleep(max(0.0, deadline - self._clock.now()))))
            try:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiting:
                    waiter.cancel()
            await self._on_timers(self._clock.now())

    async def _on_timers(self, now: float) -> None:
        if self._ended:
            return
        if self._goodbye_deadline is not None and now >= self._goodbye_deadline:
            await self._end(self._goodbye_reason)
            return
        if not self._wrap_up_due and now >= self._wrap_up_at:
            self._wrap_up_due = True
            if self._idle():
                self._start_reply(history=self._history)
            return
        if self._turn is not None and self._keep_alive_at is not None and now >= self._keep_alive_at:
            self._keep_alive_at = now + self._config.keep_alive_seconds
            if self._stt is not None:
                await self._stt.keep_alive()
        if self._idle():
            if not self._silence_prompted and now >= self._last_activity + self._config.silence_prompt_seconds:
                self._silence_prompted = True
                self._start_reply(history=self._history, note=self._config.silence_prompt_note)
            elif self._silence_prompted and now >= self._last_activity + self._config.silence_end_seconds:
                self._start_reply(history=self._history, note=self._config.silence_goodbye_note, end_reason="silence")

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
        async for item in self._tts.audio():
            if isinstance(item, AudioChunk):
                await self._on_tts_audio(item)
            elif self._turn is not None and item.context_id == self._turn.context_id:
                self._audio_complete(self._turn)
        raise ProviderError("the text-to-speech session ended")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.ensure_future(self._guarded(coroutine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """A provider failing anywhere ends the call with the fallback line, never a silent line."""
        try:
            await coroutine
        except ProviderError as error:
            if not self._ended:
                logger.warning("call %s: provider failed: %s", self._context.call_id, error)
                await self._fail("provider_error")
        except Exception:
            if not self._ended:
                logger.exception("call %s: the conversation engine failed", self._context.call_id)
                await self._fail("engine_error")

    async def _fail(self, reason: str) -> None:
        """Apologise with the cached fallback clip (no provider needed) and end the call."""
        if self._failed or self._ended:
            return
        self._failed = True
        self._inbound.clear()
        turn = self._turn
        if turn is not None:
            self._interrupt_persona(self._clock.now())
            self._stop_generating(turn)
            self._turn = None
        if not self._context.fallback_audio:
            await self._end(reason)
            return
        fallback = self._begin_turn(interruptible=False, end_reason=reason)
        try:
            await self._play_clip(fallback, self._context.fallback_audio, self._context.fallback_line)
        except Exception as error:  # the line itself is gone: nothing left to say it on
            logger.info("call %s: the fallback line could not be sent: %s", self._context.call_id, error)
            await self._end(reason)

    async def _end(self, reason: str) -> None:
        if self._ended:
            return
        self._ended = True
        logger.info("call %s: ending (%s)", self._context.call_id, reason)
        with contextlib.suppress(Exception):
            await self._output.end_call(reason)
        await self._shut_down()

    async def _shut_down(self) -> None:
        self._ended = True
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for closing in (self._stt, self._tts):
            if closing is not None:
                try:
                    await closing.close()
                except Exception as error:  # a dead socket cannot spoil the end of a call
                    logger.info("call %s: closing a provider: %s", self._context.call_id, error)
