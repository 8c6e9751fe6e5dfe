"""Deepgram live speech-to-text over its websocket API.

Nova models stream on `/v1/listen` (Results / SpeechStarted / UtteranceEnd messages);
Flux models (`DEEPGRAM_MODEL` starting with "flux") stream on `/v2/listen` and report
turns themselves (TurnInfo messages). Twilio's 8 kHz mu-law frames go through untouched.

Transcript semantics, the same for both: a final `TranscriptUpdate` carries the stretch of
text finalised since the previous final one, an interim one the not-yet-final stretch after
them, so what was heard so far in a turn is the finals joined plus the latest interim.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp

from .base import (
    EagerEndOfTurn,
    ProviderError,
    SpeechStarted,
    SttEvent,
    TranscriptUpdate,
    TurnResumed,
)
from .http import SEND_ERRORS, SharedSession, socket_close, socket_message

KEEP_ALIVE = json.dumps({"type": "KeepAlive"})
CLOSE_STREAM = json.dumps({"type": "CloseStream"})


class DeepgramStt:
    """Creates one websocket stream per call, over the process's shared HTTP session."""

    def __init__(
        self,
        *,
        api_key: str,
        api_url: str = "wss://api.deepgram.com",
        model: str = "nova-3",
        endpointing_ms: int = 300,
        utterance_end_ms: int = 1000,
        eager_eot_threshold: float = 0.5,
        session: SharedSession | None = None,
    ) -> None:
        self._api_key = api_key
        self._api_url = api_url.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        self.model = model
        self._endpointing_ms = endpointing_ms
        self._utterance_end_ms = max(utterance_end_ms, 1000)  # Deepgram's minimum
        self._eager_eot_threshold = eager_eot_threshold
        self._session = session or SharedSession()

    @property
    def label(self) -> str:
        return f"deepgram {self.model}"

    @property
    def is_flux(self) -> bool:
        return self.model.startswith("flux")

    @property
    def audio_chunk_ms(self) -> int:
        """Flux is tuned for 80 ms chunks; Nova takes anything from 20 ms, and 40 ms halves
        the socket writes of 20 ms frames for at most 20 ms on the end of a turn."""
        return 80 if self.is_flux else 40

    def stream_url(self) -> str:
        audio = {"encoding": "mulaw", "sample_rate": 8000}
        if self.is_flux:
            query = {"model": self.model, **audio, "eager_eot_threshold": self._eager_eot_threshold}
            return f"{self._api_url}/v2/listen?{urlencode(query)}"
        query = {
            "model": self.model,
            **audio,
            "channels": 1,
            "interim_results": "true",
            "endpointing": self._endpointing_ms,
            "utterance_end_ms": self._utterance_end_ms,
            "vad_events": "true",
            "smart_format": "true",
        }
        return f"{self._api_url}/v1/listen?{urlencode(query)}"

    async def open_stream(self) -> DeepgramStream:
        try:
            socket = await self._session.get().ws_connect(
                self.stream_url(), headers={"Authorization": f"Token {self._api_key}"}, autoping=True
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ProviderError(f"Deepgram refused the stream: {error}") from error
        return DeepgramStream(socket, flux=self.is_flux)

    async def aclose(self) -> None:
        await self._session.close()


class DeepgramStream:
    """One call's recognition stream. `events()` reads the socket directly: no extra task."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, *, flux: bool) -> None:
        self._socket = socket
        self._translate = _FluxTranslator() if flux else _NovaTranslator()
        self._closing = False

    async def send_audio(self, mulaw: bytes) -> None:
        """Called every `audio_chunk_ms` of every call: the audio goes out as it came in."""
        try:
            await self._socket.send_bytes(mulaw)
        except SEND_ERRORS as error:
            raise ProviderError("Deepgram stream is closed") from error

    async def keep_alive(self) -> None:
        try:
            await self._socket.send_str(KEEP_ALIVE)
        except SEND_ERRORS as error:
            raise ProviderError("Deepgram stream is closed") from error

    async def events(self) -> AsyncIterator[SttEvent]:
        async for message in self._socket:
            if message.type is aiohttp.WSMsgType.TEXT:
                for event in self._translate(_parse(message.data)):
                    yield event
            elif message.type is aiohttp.WSMsgType.ERROR:
                raise ProviderError(f"Deepgram stream failed: {self._socket.exception()}")
        if not self._closing:
            raise ProviderError(f"Deepgram closed the stream (code {self._socket.close_code})")

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        await socket_close(self._socket, goodbye=CLOSE_STREAM, provider="Deepgram")


def _parse(text: str) -> dict:
    message = socket_message(text, provider="Deepgram")
    if message.get("type") == "Error":
        raise ProviderError(f"Deepgram error {message.get('code', '')}: {message.get('description', '')}".strip())
    return message


class _NovaTranslator:
    """Results / SpeechStarted / UtteranceEnd to contract events.

    `speech_final` ends the turn; `UtteranceEnd` ends it too when endpointing never fired
    (noisy lines), but only if something was finalised since the last end of turn.
    """

    def __init__(self) -> None:
        self._turn_has_text = False

    def __call__(self, message: dict) -> list[SttEvent]:
        kind = message.get("type")
        if kind == "Results":
            return self._results(message)
        if kind == "SpeechStarted":
            return [SpeechStarted(timestamp=float(message.get("timestamp", 0.0)))]
        if kind == "UtteranceEnd" and self._turn_has_text:
            self._turn_has_text = False
            return [TranscriptUpdate(text="", is_final=True, end_of_turn=True)]
        return []

    def _results(self, message: dict) -> list[SttEvent]:
        alternatives = (message.get("channel") or {}).get("alternatives") or [{}]
        text = (alternatives[0].get("transcript") or "").strip()
        if not message.get("is_final"):
            return [TranscriptUpdate(text=text, is_final=False, end_of_turn=False)] if text else []
        end_of_turn = bool(message.get("speech_final"))
        if text:
            self._turn_has_text = not end_of_turn
            return [TranscriptUpdate(text=text, is_final=True, end_of_turn=end_of_turn)]
        if end_of_turn and self._turn_has_text:
            self._turn_has_text = False
            return [TranscriptUpdate(text="", is_final=True, end_of_turn=True)]
        return []


class _FluxTranslator:
    """TurnInfo events to contract events; Flux's transcript is the whole turn so far."""

    def __call__(self, message: dict) -> list[SttEvent]:
        if message.get("type") != "TurnInfo":
            return []
        event = message.get("event")
        text = (message.get("transcript") or "").strip()
        if event == "StartOfTurn":
            started = SpeechStarted(timestamp=float(message.get("audio_window_start", 0.0)))
            return [started, TranscriptUpdate(text=text, is_final=False, end_of_turn=False)] if text else [started]
        if event == "Update":
            return [TranscriptUpdate(text=text, is_final=False, end_of_turn=False)] if text else []
        if event == "EagerEndOfTurn":
            return [EagerEndOfTurn(text=text)]
        if event == "TurnResumed":
            return [TurnResumed()]
        if event == "EndOfTurn":
            return [TranscriptUpdate(text=text, is_final=True, end_of_turn=True)]
        return []
