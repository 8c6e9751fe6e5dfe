"""A loopback ElevenLabs text-to-speech server: the multi-context websocket input API
(`/v1/text-to-speech/{voice_id}/multi-stream-input`) and the HTTP stream endpoint
(`POST /v1/text-to-speech/{voice_id}/stream`), both answering 8 kHz mu-law.

Per context it buffers text, generates on `flush` (or once 120 characters are waiting, as
ElevenLabs' default chunk schedule does), sends base64 audio with per-character alignment
relative to each chunk, and answers `close_context` with `isFinal` once what was already
flushed has been sent. It checks `xi-api-key`, records every message, and can be slowed
down (`first_audio_delay`) or made to fail (handshake status, dropping the socket).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from voice.audio import pcm_to_mulaw

from .elevenlabs import API_KEY
from .loopback import LoopbackServer

AUTO_GENERATE_CHARS = 120  # ElevenLabs' first chunk_length_schedule step


def _tone_second() -> bytes:
    samples = (int(6000 * math.sin(2 * math.pi * 220 * n / 8000)) for n in range(8000))
    return pcm_to_mulaw(b"".join(sample.to_bytes(2, "little", signed=True) for sample in samples))


TONE = _tone_second()


@dataclass
class Context:
    voice_settings: dict | None
    buffer: str = ""
    spoken: list[str] = field(default_factory=list)  # each generation's text, in order
    closed: bool = False
    generating: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class Connection:
    voice_id: str
    query: dict[str, str]
    api_key: str | None
    received: list[dict] = field(default_factory=list)
    contexts: dict[str, Context] = field(default_factory=dict)
    audio_chunks_sent: int = 0
    finals_sent: list[str] = field(default_factory=list)
    closed_for_inactivity: bool = False
    close_code: int | None = None
    socket: web.WebSocketResponse | None = field(default=None, repr=False)


@dataclass
class Synthesis:
    voice_id: str
    query: dict[str, str]
    body: dict
    api_key: str | None


class FakeElevenLabsTts(LoopbackServer):
    name = "fake-elevenlabs-tts"

    def __init__(
        self,
        *,
        first_audio_delay: float = 0.0,
        ms_per_char: int = 60,
        chars_per_chunk: int = 20,
        handshake_status: int | None = None,
        drop_after_audio_chunks: int | None = None,
        inactivity_timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.inactivity_timeout = inactivity_timeout  # default: the client's inactivity_timeout
        self.first_audio_delay = first_audio_delay
        self.ms_per_char = ms_per_char
        self.chars_per_chunk = chars_per_chunk
        self.handshake_status = handshake_status
        self.drop_after_audio_chunks = drop_after_audio_chunks
        self.connections: list[Connection] = []
        self.syntheses: list[Synthesis] = []

    def routes(self):
        return [
            web.get("/v1/text-to-speech/{voice_id}/multi-stream-input", self._multi_stream_input),
            web.post("/v1/text-to-speech/{voice_id}/stream", self._stream),
        ]

    def audio_for(self, text: str) -> bytes:
        """The mu-law this fake answers for `text`: `ms_per_char` of tone per character."""
        samples = len(text) * self.ms_per_char * 8
        return (TONE * (samples // len(TONE) + 1))[:samples]

    def send_raw(self, message: dict, *, connection: int = -1) -> None:
        """Sends any message on a connection, e.g. an error ElevenLabs would send."""
        self.run(self.connections[connection].socket.send_str(json.dumps(message)))

    # --- HTTP ----------------------------------------------------------------------------

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.syntheses.append(Synthesis(request.match_info["voice_id"], dict(request.query), body,
                                        request.headers.get("xi-api-key")))
        if request.headers.get("xi-api-key") != API_KEY:
            return web.json_response({"detail": {"status": "invalid_api_key"}}, status=401)
        if self.handshake_status:
            return web.json_response({"detail": "Injected failure"}, status=self.handshake_status)
        await asyncio.sleep(self.first_audio_delay)
        return web.Response(body=self.audio_for(body.get("text", "")), content_type="audio/basic")

    # --- websocket -------------------------------------------------------------------------

    async def _multi_stream_input(self, request: web.Request) -> web.StreamResponse:
        api_key = request.headers.get("xi-api-key")
        if api_key != API_KEY:
            return web.json_response({"detail": {"status": "invalid_api_key"}}, status=401)
        if self.handshake_status:
            return web.json_response({"detail": "Injected failure"}, status=self.handshake_status)
        socket = web.WebSocketResponse()
        connection = Connection(request.match_info["voice_id"], dict(request.query), api_key, socket=socket)
        self.connections.append(connection)  # before the handshake completes, so a test sees it at once
        await socket.prepare(request)
        pending: set[asyncio.Task] = set()
        timeout = self.inactivity_timeout or float(request.query.get("inactivity_timeout", 20))
        while True:
            try:
                message = await socket.receive(timeout=timeout)
            except TimeoutError:
                await socket.close(code=1008, message=b"Have not received new text in a while")
                connection.closed_for_inactivity = True
                break
            if message.type is not WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            connection.received.append(data)
            if data.get("close_socket"):
                await asyncio.gather(*pending)
                await socket.close()
                break
            task = self._handle(connection, data)
            if task is not None:
                pending.add(task)
                task.add_done_callback(pending.discard)
        connection.close_code = socket.close_code
        return socket

    def _handle(self, connection: Connection, data: dict) -> asyncio.Task | None:
        context_id = data.get("context_id", "default")
        context = connection.contexts.get(context_id)
        if context is None or (context.closed and "voice_settings" in data):
            context = connection.contexts[context_id] = Context(voice_settings=data.get("voice_settings"))
        if context.closed:
            return None
        context.buffer += data.get("text", "").lstrip() if not context.buffer else data.get("text", "")
        if data.get("close_context"):
            context.closed = True
            context.buffer = ""  # unflushed text is dropped; flushed text still plays out
            return asyncio.ensure_future(self._finish_context(connection, context_id, context))
        if data.get("flush") or len(context.buffer) >= AUTO_GENERATE_CHARS:
            text, context.buffer = context.buffer, ""
            if text.strip():
                return asyncio.ensure_future(self._generate(connection, context_id, context, text))
        return None

    async def _finish_context(self, connection: Connection, context_id: str, context: Context) -> None:
        async with context.generating:  # after every generation queued before the close
            await self._send(connection, {"isFinal": True, "contextId": context_id})
            connection.finals_sent.append(context_id)

    async def _generate(self, connection: Connection, context_id: str, context: Context, text: str) -> None:
        async with context.generating:
            context.spoken.append(text)
            await asyncio.sleep(self.first_audio_delay)
            for start in range(0, len(text), self.chars_per_chunk):
                piece = text[start : start + self.chars_per_chunk]
                alignment = {
                    "chars": list(piece),
                    "charStartTimesMs": [index * self.ms_per_char for index in range(len(piece))],
                    "charDurationsMs": [self.ms_per_char] * len(piece),
                }
                await self._send(connection, {
                    "audio": base64.b64encode(self.audio_for(piece)).decode(),
                    "normalizedAlignment": alignment,
                    "alignment": alignment,
                    "contextId": context_id,
                })
                connection.audio_chunks_sent += 1
                if connection.audio_chunks_sent == self.drop_after_audio_chunks:
                    await connection.socket.close(code=1011, message=b"injected failure")
                    return

    async def _send(self, connection: Connection, message: dict) -> None:
        if not connection.socket.closed:
            await connection.socket.send_str(json.dumps(message))
