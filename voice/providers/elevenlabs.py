"""ElevenLabs text-to-speech: the multi-context websocket for live turns, HTTP streaming for
whole clips. Audio comes as 8 kHz mu-law (`output_format=ulaw_8000`), ready for Twilio.

One websocket per call; each persona turn is a context, so a barge-in closes that context
and the next turn opens a new one on the same socket without reconnecting.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote, urlencode

import aiohttp

from .base import END_OF_STREAM, AudioChunk, ContextDone, ProviderError, VoiceSettings, queued_output
from .http import SEND_ERRORS, SharedSession, socket_close, socket_message

logger = logging.getLogger(__name__)

OUTPUT_FORMAT = "ulaw_8000"
INACTIVITY_TIMEOUT_SECONDS = 180  # the longest ElevenLabs allows: a caller may think before answering
CLOSE_SOCKET = json.dumps({"close_socket": True})
_END = END_OF_STREAM


class ElevenLabsTts:
    def __init__(
        self, *, api_key: str, api_url: str, model: str, session: SharedSession | None = None
    ) -> None:
        self._api_key = api_key
        self._api_url = api_url.rstrip("/")
        self.model = model
        self._session = session or SharedSession()

    @property
    def label(self) -> str:
        return f"elevenlabs {self.model}"

    def session_url(self, voice_id: str) -> str:
        base = self._api_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        query = {
            "model_id": self.model,
            "output_format": OUTPUT_FORMAT,
            "sync_alignment": "true",
            "inactivity_timeout": INACTIVITY_TIMEOUT_SECONDS,
        }
        return f"{base}/v1/text-to-speech/{quote(voice_id, safe='')}/multi-stream-input?{urlencode(query)}"

    async def open_session(self, voice: VoiceSettings) -> ElevenLabsSession:
        async def connect() -> aiohttp.ClientWebSocketResponse:
            try:
                return await self._session.get().ws_connect(
                    self.session_url(voice.voice_id), headers={"xi-api-key": self._api_key}
                )
            except (aiohttp.ClientError, TimeoutError) as error:
                raise ProviderError(f"ElevenLabs refused the speech socket: {error}") from error

        return ElevenLabsSession(await connect(), voice, reconnect=connect)

    async def synthesize(self, text: str, voice: VoiceSettings) -> bytes:
        url = f"{self._api_url}/v1/text-to-speech/{quote(voice.voice_id, safe='')}/stream"
        body = {"text": text, "model_id": self.model, "voice_settings": _voice_settings(voice)}
        try:
            async with self._session.get().post(
                url, params={"output_format": OUTPUT_FORMAT}, json=body, headers={"xi-api-key": self._api_key}
            ) as response:
                if response.status != 200:
                    raise ProviderError(f"ElevenLabs synthesis failed: HTTP {response.status}")
                return await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ProviderError(f"ElevenLabs synthesis failed: {type(error).__name__}") from error

    async def aclose(self) -> None:
        await self._session.close()


class ElevenLabsSession:
    """A reader task turns the socket's messages into AudioChunk / ContextDone on a queue,
    dropping whatever still arrives for contexts that were cancelled.

    ElevenLabs closes a socket that stayed quiet past its inactivity timeout (the caller
    talked for minutes). That is no failure when no turn was playing: the next turn
    reconnects. A socket lost in the middle of a turn is a ProviderError.
    """

    def __init__(
        self,
        socket: aiohttp.ClientWebSocketResponse,
        voice: VoiceSettings,
        *,
        reconnect: Callable[[], Awaitable[aiohttp.ClientWebSocketResponse]],
    ) -> None:
        self._socket = socket
        self._reconnect = reconnect
        self._voice_settings = _voice_settings(voice)
        self._open_contexts: set[str] = set()
        self._cancelled: set[str] = set()
        self._output: asyncio.Queue = asyncio.Queue()
        self._closing = False
        self._reader = asyncio.create_task(self._read(), name="elevenlabs-reader")

    async def send_text(self, context_id: str, text: str, *, flush: bool = False) -> None:
        if context_id not in self._open_contexts:
            if self._socket.closed and self._reader.done() and not self._closing:
                self._socket = await self._reconnect()  # closed while idle: see the class docstring
                self._reader = asyncio.create_task(self._read(), name="elevenlabs-reader")
            self._open_contexts.add(context_id)
            await self._send({"text": " ", "context_id": context_id, "voice_settings": self._voice_settings})
        message = {"text": text, "context_id": context_id}
        if flush:
            message["flush"] = True
        await self._send(message)

    async def finish(self, context_id: str) -> None:
        """Flushes what is buffered, then closes the context; ElevenLabs answers isFinal."""
        if context_id not in self._open_contexts:
            self._output.put_nowait(ContextDone(context_id))  # nothing was said: done at once
            return
        await self._send({"context_id": context_id, "flush": True})
        await self._send({"context_id": context_id, "close_context": True})

    async def cancel(self, context_id: str) -> None:
        if context_id not in self._open_contexts:
            return
        self._cancelled.add(context_id)
        self._open_contexts.discard(context_id)
        await self._send({"context_id": context_id, "close_context": True})

    def audio(self) -> AsyncIterator[AudioChunk | ContextDone]:
        return queued_output(self._output)

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        await socket_close(self._socket, goodbye=CLOSE_SOCKET, provider="ElevenLabs")
        await self._reader
        self._output.put_nowait(_END)

    async def _send(self, message: dict) -> None:
        try:
            await self._socket.send_str(json.dumps(message))
        except SEND_ERRORS as error:
            raise ProviderError("ElevenLabs speech socket is closed") from error

    async def _read(self) -> None:
        try:
            async for message in self._socket:
                if message.type is aiohttp.WSMsgType.TEXT:
                    for item in self._translate(message.data):
                        self._output.put_nowait(item)
                elif message.type is aiohttp.WSMsgType.ERROR:
                    raise ProviderError(f"ElevenLabs speech socket failed: {self._socket.exception()}")
            if self._closing:
                return
            if self._open_contexts:
                raise ProviderError(f"ElevenLabs closed the speech socket mid-turn (code {self._socket.close_code})")
            else:
                logger.info("ElevenLabs closed an idle speech socket (code %s)", self._socket.close_code)
        except ProviderError as error:
            self._output.put_nowait(error)

    def _translate(self, text: str) -> list[AudioChunk | ContextDone]:
        message = socket_message(text, provider="ElevenLabs")
        if message.get("error"):
            raise ProviderError(f"ElevenLabs error: {message.get('error')}: {message.get('message', '')}")
        context_id = message.get("contextId") or message.get("context_id") or ""
        if context_id in self._cancelled:
            if message.get("isFinal"):
                self._cancelled.discard(context_id)
            return []
        items: list[AudioChunk | ContextDone] = []
        if message.get("audio"):
            try:
                mulaw = base64.b64decode(message["audio"])
            except (binascii.Error, TypeError) as error:
                raise ProviderError("ElevenLabs sent audio that is not base64") from error
            alignment = message.get("alignment") or message.get("normalizedAlignment")
            items.append(AudioChunk(context_id=context_id, mulaw=mulaw, alignment=_alignment(alignment)))
        if message.get("isFinal"):
            self._open_contexts.discard(context_id)
            items.append(ContextDone(context_id))
        return items


def _voice_settings(voice: VoiceSettings) -> dict:
    return {"stability": voice.stability, "similarity_boost": voice.similarity, "speed": voice.speed}


def _alignment(alignment: dict | None) -> tuple[tuple[str, int, int], ...]:
    if not alignment:
        return ()
    return tuple(
        zip(
            alignment.get("chars") or (),
            (int(start) for start in alignment.get("charStartTimesMs") or ()),
            (int(duration) for duration in alignment.get("charDurationsMs") or ()),
            strict=False,
        )
    )
