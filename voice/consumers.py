"""The Twilio Media Streams transport: one websocket per live call.

A thin layer: it checks who is on the other end (the signed handshake, then the call the
`start` message claims), turns Twilio's messages into engine events and the engine's output
into `media` / `mark` / `clear`. The conversation itself lives in `voice.engine`.
The database is read and the call marked live on this stream at `start`, written by a
background task (the transcript) and at the end (the hang-up, the stream's end); nothing on
the audio path waits for it, and none of it runs on Channels' one shared thread (a slow
write or hang-up of one call never holds up another's); the hang-up at Twilio is a task.
"""

import asyncio
import base64
import binascii
import dataclasses
import functools
import json
import logging
import time

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from callmeback.dbthreads import off_shared_thread
from callmeback.websockets import SocketAndLayerLoop
from calls.services.changes import call_group, call_stream_group
from voice.engine.call import CallContext, HeardTurn
from voice.engine.conversation import Conversation
from voice.greetings import FALLBACK_LINE, fallback_audio, opening_audio
from voice.providers import Providers, build_providers
from voice.selectors import stream_call_context
from voice.services import (
    call_stream_claim,
    call_stream_closed,
    call_stream_hang_up,
    call_stream_opened,
    call_turns_record,
    call_usage_record,
)
from voice.streams import (
    CALL_ID_PARAMETER,
    PERSONA_ID_PARAMETER,
    STREAM_TOKEN_PARAMETER,
    handshake_is_signed,
    media_message_audio,
)

logger = logging.getLogger(__name__)
metrics_logger = logging.getLogger("voice.metrics")

POLICY_VIOLATION = 1008  # refused before accepting: the server answers the handshake 403
# After accepting: 1008's twin in the application range (4000-4999) says "policy violation"
# once the socket is open; an application code reaches the client as it is under any server.
STREAM_REFUSED = 4008
# The call already has its media stream: a second one (a replayed `start`) is refused (409's twin).
STREAM_DUPLICATE = 4009
# Twilio sends `start` right after the handshake; a socket that has not by the deadline is closed.
STREAM_START_TIMEOUT = 4408
# The call's stream could not be set up on our side (1011, "internal error", in the same range).
STREAM_START_FAILED = 4011
# A batch of transcript turns the database refused is tried again after each of these pauses
# (about 30 s in all: a restarting database is back well within it); the writes are idempotent.
TRANSCRIPT_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


@functools.cache
def shared_providers() -> Providers:
    """One set of providers per process, shared by every call (their connection pools)."""
    return build_providers()


def shared_providers_warm() -> None:
    """Builds the shared providers as the server loads, before it accepts a socket: built on
    demand, the first call after a restart waited about a second in silence for their imports,
    on the event loop every call shares. One that cannot be built is logged and built on
    demand as before: the server still starts."""
    try:
        shared_providers()
    except Exception:
        logger.exception("Voice providers could not be set up at start; the first call builds them")


class TranscriptWriter:
    """Persists heard turns in batches off the audio path, then shows them live on the call page."""

    def __init__(self, *, call_id: str, publish) -> None:
        self.call_id = call_id
        self.publish = publish
        self.queue: asyncio.Queue[tuple[HeardTurn, float] | None] = asyncio.Queue()
        self.lags: list[float] = []  # seconds from each turn heard to it stored, for the metrics line
        self.task = asyncio.create_task(self._run())

    def put(self, turn: HeardTurn) -> None:
        self.queue.put_nowait((turn, time.monotonic()))

    async def close(self) -> None:
        """Writes what is queued, then stops."""
        self.queue.put_nowait(None)
        await self.task

    async def cancel(self) -> None:
        """Stops at once: a stream that failed to start has nothing worth writing."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def _run(self) -> None:
        finished = False
        while not finished:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            finished = batch[-1] is None
            heard = [item for item in batch if item is not None]
            turns = [turn for turn, _ in heard]
            if turns and await self._store(turns):
                stored = time.monotonic()
                self.lags += [stored - heard_at for _, heard_at in heard]
                for turn in turns:
                    await self.publish(turn)

    async def _store(self, turns: list[HeardTurn]) -> bool:
        """Stores a batch, trying again for a while when the database fails (it may be
        restarting); True once stored. Turns heard meanwhile wait in the queue."""
        for pause in (*TRANSCRIPT_RETRY_SECONDS, None):
            try:
                await off_shared_thread(call_turns_record)(call_id=self.call_id, turns=turns)
                return True
            except Exception:
                if pause is None:
                    logger.exception("Transcript turns of call %s could not be stored", self.call_id)
                    return False
                logger.warning("Transcript turns of call %s not stored yet; trying again in %g s", self.call_id, pause)
                await asyncio.sleep(pause)
        return False


class MediaStreamConsumer(SocketAndLayerLoop, AsyncWebsocketConsumer):
    """`/api/voice/stream`: Twilio's bidirectional media stream for one call."""

    stream_sid: str | None = None
    call_id: str | None = None
    conversation: Conversation | None = None
    writer: TranscriptWriter | None = None
    group: str | None = None
    providers: Providers | None = None  # the ones this call's conversation uses
    _start_deadline: asyncio.Task | None = None
    _media_prefix = ""
    # False once the caller hung up or we closed: what the persona still says goes nowhere.
    socket_open = True

    async def connect(self) -> None:
        signature = dict(self.scope["headers"]).get(b"x-twilio-signature", b"").decode("latin-1")
        if not handshake_is_signed(signature):
            logger.warning("Media stream refused: the handshake is not signed by Twilio")
            await self.close(code=POLICY_VIOLATION)
            return
        self.background: set[asyncio.Task] = set()
        await self.accept()
        deadline = self._close_unless_started(settings.STREAM_START_TIMEOUT_SECONDS)
        self._start_deadline = self._run_in_background(deadline)

    async def _close_unless_started(self, timeout: float) -> None:
        """Twilio sends `start` at once; a signed socket that never does would stay open for ever."""
        await asyncio.sleep(timeout)
        logger.warning("Media stream closed: no start within %g s of the handshake", timeout)
        await self.close(code=STREAM_START_TIMEOUT)

    def _run_in_background(self, work) -> asyncio.Task:
        """A task of this stream's, cancelled when the stream ends."""
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        event = message.get("event") if isinstance(message, dict) else None
        if event == "media":
            self._on_media(message)
        elif event == "mark":
            if self.conversation is not None:
                self.conversation.mark_played(str((message.get("mark") or {}).get("name", "")))
        elif event == "start":
            await self._on_start(message)
        elif event == "dtmf":
            if self.conversation is not None:
                self.conversation.dtmf(str((message.get("dtmf") or {}).get("digit", "")))
        elif event == "stop":
            await self._end_stream()
            await self.close()

    def _on_media(self, message: dict) -> None:
        """One inbound 20 ms frame: the hot path, kept to a decode and a synchronous hand-off."""
        if self.conversation is None:
            return
        try:
            audio = base64.b64decode(message["media"]["payload"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            return
        self.conversation.receive_audio(audio)

    async def _on_start(self, message: dict) -> None:
        if self.conversation is not None:
            return
        if self._start_deadline is not None:
            self._start_deadline.cancel()
        started = False
        try:
            await self._start(message)
            started = True
        except Exception:
            logger.exception("Media stream of call %s could not start", self.call_id or "(not yet known)")
        finally:
            if not started:
                await self._abandon_start()
        if not started:
            await self.close(code=STREAM_START_FAILED)

    async def _start(self, message: dict) -> None:
        """Checks the call `start` claims, joins its group and starts the conversation."""
        start = message.get("start") or {}
        parameters = start.get("customParameters") or {}
        stream_sid = str(start.get("streamSid") or message.get("streamSid") or "")
        context = await off_shared_thread(stream_call_context)(
            call_sid=str(start.get("callSid") or ""),
            call_id=str(parameters.get(CALL_ID_PARAMETER) or ""),
            persona_id=str(parameters.get(PERSONA_ID_PARAMETER) or ""),
            stream_token=str(parameters.get(STREAM_TOKEN_PARAMETER) or ""),
        )
        if context is None or not stream_sid.isalnum() or len(stream_sid) > 64:
            logger.warning("Media stream refused: its start does not match a live call of ours")
            await self.close(code=STREAM_REFUSED)
            return
        if not await off_shared_thread(call_stream_claim)(call_id=context.call_id, stream_sid=stream_sid):
            logger.warning("Media stream refused: call %s already has its stream", context.call_id)
            await self.close(code=STREAM_DUPLICATE)
            return
        self.stream_sid, self.call_id = stream_sid, context.call_id
        # Every outbound media message differs only by its payload: build the rest once.
        self._media_prefix = f'{{"event":"media","streamSid":"{stream_sid}","media":{{"payload":"'
        self.group = call_stream_group(context.call_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.writer = TranscriptWriter(call_id=context.call_id, publish=self._publish_turn)
        self.conversation = await self._conversation(context)
        # Marked live once a hang-up on the group reaches a conversation that can say goodbye.
        await off_shared_thread(call_stream_opened)(call_id=context.call_id, stream_sid=stream_sid)
        logger.info("Media stream started for call %s", context.call_id)
        await self.conversation.start()

    async def _conversation(self, context: CallContext) -> Conversation:
        providers = self.providers = shared_providers()
        opening, fallback = await asyncio.gather(
            opening_audio(providers.tts, context.opening_line, context.voice),
            fallback_audio(providers.tts, context.voice),
        )
        context = dataclasses.replace(
            context, opening_audio=opening, fallback_line=FALLBACK_LINE, fallback_audio=fallback
        )
        return Conversation(
            context=context, stt=providers.stt, llm=providers.llm, tts=providers.tts, output=StreamOutput(self)
        )

    async def _abandon_start(self) -> None:
        """A start that failed part-way leaves nothing behind: no writer waiting on its queue,
        no membership in the call's stream group (which would go on receiving its messages), and a
        conversation already built or marked live is ended as any stream's is."""
        writer, self.writer = self.writer, None
        try:
            if writer is not None:
                await writer.cancel()
            await self._end_stream()
        finally:
            group, self.group = self.group, None
            if group is not None:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def websocket_disconnect(self, message: dict) -> None:
        self.socket_open = False
        await super().websocket_disconnect(message)

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.socket_open = False
        await super().close(code=code, reason=reason)

    async def disconnect(self, code: int) -> None:
        await self._end_stream()

    async def _end_stream(self) -> None:
        """The stream is over: stop the conversation, store the last turns and what the
        providers did, leave the group, and the call is no longer live on a stream."""
        conversation, self.conversation = self.conversation, None
        if conversation is not None:
            await conversation.stop()
            log_metrics(self.call_id, conversation, self.writer.lags if self.writer is not None else [])
            await self._store_usage(conversation)
            try:
                await off_shared_thread(call_stream_closed)(call_id=self.call_id, stream_sid=self.stream_sid)
            except Exception:  # the call's end (its terminal status) clears it too
                logger.exception("Call %s: the end of its stream could not be recorded", self.call_id)
        for task in list(getattr(self, "background", ())):
            task.cancel()
        writer, self.writer = self.writer, None
        if writer is not None:
            await writer.close()
        group, self.group = self.group, None
        if group is not None:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _store_usage(self, conversation: Conversation) -> None:
        try:
            await off_shared_thread(call_usage_record)(
                call_id=self.call_id,
                usage=conversation.usage,
                providers=self.providers,
                llm_model=conversation.context.llm_model,
            )
        except Exception:
            logger.exception("Provider usage of call %s could not be stored", self.call_id)

    # --- Channel-layer messages: the stream group's hang-up, our transcript to the page ----

    async def dispatch(self, message: dict) -> None:
        kind = message["type"]
        if kind == "websocket.receive":
            # The hot path, 50 messages a second per call. Channels' own dispatch first closes
            # stale database connections in a worker thread, a thread round trip per frame;
            # this consumer reaches the database only through `off_shared_thread`, which
            # does that itself. A `media` frame in Twilio's layout goes straight to the engine.
            text = message.get("text")
            if text is not None and self.conversation is not None:
                audio = media_message_audio(text)
                if audio is not None:
                    self.conversation.receive_audio(audio)
                    return
            await self.websocket_receive(message)
            return
        await super().dispatch(message)

    async def call_hangup(self, event: dict) -> None:
        """Hang-up from the app or an admin: the persona says goodbye, then `StreamOutput.end_call`
        has the line cut at Twilio (`calls.services.ending.call_end` keeps a safety net for a stream
        that never does)."""
        if self.conversation is None:
            return
        self._run_in_background(self.conversation.request_end(str(event.get("ended_by") or "user")))

    def layer_groups(self) -> list[str]:
        return [self.group] if self.group is not None else []

    async def _publish_turn(self, turn: HeardTurn) -> None:
        """Shows a stored turn on the call page; best effort (the page also reads the stored
        transcript when it opens), so a channel layer that is down stops nothing."""
        if self.call_id is None:
            return
        message = {
            "type": "call.transcript",
            "index": turn.index,
            "speaker": turn.speaker,
            "text": turn.text,
            "interrupted": turn.interrupted,
        }
        try:
            await self.channel_layer.group_send(call_group(self.call_id), message)
        except Exception:
            logger.warning("Transcript turn %s of call %s could not be shown live", turn.index, self.call_id)


def log_metrics(call_id: str | None, conversation: Conversation, transcript_lags: list[float]) -> None:
    """One line per call with its latencies (timings only, never words), for operators and
    for `bench/voice.py`; the transcript's are those of the turns stored while it was live."""
    if not metrics_logger.isEnabledFor(logging.INFO):
        return
    metrics = conversation.metrics
    figures = {
        "call": call_id,
        "voice_to_voice_ms": [round(t.voice_to_voice_ms) for t in metrics.turns if t.voice_to_voice_ms is not None],
        "overhead_ms": [round(t.overhead_ms, 2) for t in metrics.turns if t.voice_to_voice_ms is not None],
        "barge_in_ms": [round(ms) for ms in metrics.barge_in_ms],
        "transcript_lag_ms": [round(seconds * 1000) for seconds in transcript_lags],
    }
    metrics_logger.info("call metrics %s", json.dumps(figures))


class StreamOutput:
    """The engine's `CallOutput`, spoken as Twilio Media Streams messages on the consumer's socket."""

    def __init__(self, consumer: MediaStreamConsumer) -> None:
        self.consumer = consumer

    async def send_audio(self, mulaw: bytes) -> None:
        """The chunk in one `media` message: Twilio plays payloads of any length back to back,
        and one message costs far less than a message per 20 ms frame."""
        payload = base64.b64encode(mulaw).decode("ascii")
        await self._send(f'{self.consumer._media_prefix}{payload}"}}}}')

    async def send_mark(self, name: str) -> None:
        await self._send(json.dumps({"event": "mark", "streamSid": self.consumer.stream_sid, "mark": {"name": name}}))

    async def send_clear(self) -> None:
        await self._send(json.dumps({"event": "clear", "streamSid": self.consumer.stream_sid}))

    async def _send(self, text: str) -> None:
        """A caller can hang up while the persona speaks (the opening line, a reply still
        streaming): what is left goes nowhere instead of failing the task that said it."""
        consumer = self.consumer
        if not consumer.socket_open:
            return
        try:
            await consumer.send(text_data=text)
        except (OSError, RuntimeError):
            # How ASGI servers refuse a send on a closed socket: uvicorn raises
            # ClientDisconnected (an OSError) mid-close, RuntimeError once it has seen it.
            consumer.socket_open = False

    async def end_call(self, reason: str) -> None:
        call_id = self.consumer.call_id
        if call_id is None:
            return
        try:
            await off_shared_thread(call_stream_hang_up)(call_id=call_id, reason=reason)
        except Exception:
            logger.exception("Call %s could not be hung up (%s)", call_id, reason)

    def record_turn(self, turn: HeardTurn) -> None:
        if self.consumer.writer is not None:
            self.consumer.writer.put(turn)
