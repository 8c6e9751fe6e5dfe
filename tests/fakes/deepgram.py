"""A loopback Deepgram live-transcription server speaking the real websocket protocol.

`/v1/listen` (Nova: Results, SpeechStarted, UtteranceEnd, Metadata) and `/v2/listen`
(Flux: Connected, TurnInfo). It checks `Authorization: Token <key>`, records the audio
and control messages each stream sends, honours KeepAlive (resets the idle timeout) and
CloseStream (flushes, sends Metadata, closes), and can fail on purpose.

Transcripts come two ways:
- scripted by the audio: an energy detector finds each stretch of speech in what the
  client sends; the next line of `utterances` is reported `final_delay` seconds after the
  last voiced frame (the benchmark's "STT final 150 ms after speech ends");
- pushed by a test: `push(message)` sends any JSON message on the latest stream.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from voice.audio import FRAME_BYTES, SAMPLE_RATE, audioop

from .loopback import LoopbackServer

API_KEY = "test-deepgram-key"
VOICED_RMS = 400  # 16-bit PCM RMS above which a frame counts as speech


@dataclass
class Stream:
    """What one client connection sent and how it ended."""

    path: str
    query: dict[str, str]
    authorization: str | None
    audio: bytearray = field(default_factory=bytearray)
    controls: list[str] = field(default_factory=list)
    close_code: int | None = None
    socket: web.WebSocketResponse | None = field(default=None, repr=False)
    in_speech: bool = False
    speech_started_at: float = 0.0
    final_timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    turn_index: int = 0

    @property
    def flux(self) -> bool:
        return self.path == "/v2/listen"

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


class FakeDeepgram(LoopbackServer):
    name = "fake-deepgram"

    def __init__(
        self,
        *,
        utterances: list[str] | None = None,
        final_delay: float = 0.15,
        interim_after: float = 0.2,
        idle_timeout: float = 10.0,
        handshake_status: int | None = None,
        drop_after_audio_bytes: int | None = None,
    ) -> None:
        super().__init__()
        self.utterances = list(utterances or [])
        self.final_delay = final_delay
        self.interim_after = interim_after
        self.idle_timeout = idle_timeout
        self.handshake_status = handshake_status
        self.drop_after_audio_bytes = drop_after_audio_bytes
        self.streams: list[Stream] = []

    def routes(self):
        return [web.get("/v1/listen", self._listen), web.get("/v2/listen", self._listen)]

    # --- driving it from a test -------------------------------------------------------

    def push(self, message: dict, *, stream: int = -1) -> None:
        self.run(self._send(self.streams[stream], message))

    # --- the protocol -----------------------------------------------------------------

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization")
        if authorization != f"Token {API_KEY}":
            return web.json_response({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}, status=401)
        if self.handshake_status:
            failure = {"err_code": "INTERNAL", "err_msg": "Injected failure"}
            return web.json_response(failure, status=self.handshake_status)
        socket = web.WebSocketResponse(autoping=True)
        stream = Stream(request.path, dict(request.query), authorization, socket=socket)
        self.streams.append(stream)  # before the handshake completes, so a test sees it at once
        await socket.prepare(request)
        if stream.flux:
            await self._send(stream, {"type": "Connected", "request_id": str(uuid.uuid4()), "sequence_id": 0})
        while True:
            try:
                message = await socket.receive(timeout=self.idle_timeout)
            except TimeoutError:
                await socket.close(code=1011, message=b"NET-0001: no audio received")
                break
            if message.type is WSMsgType.BINARY:
                await self._audio(stream, message.data)
            elif message.type is WSMsgType.TEXT:
                control = json.loads(message.data).get("type", "")
                stream.controls.append(control)
                if control == "CloseStream":
                    await self._finish_speech(stream)
                    await self._send(stream, {"type": "Metadata", "duration": stream.seconds, "channels": 1})
                    await socket.close(code=1000)
                    break
            else:
                break
        stream.close_code = socket.close_code
        return socket

    async def _audio(self, stream: Stream, chunk: bytes) -> None:
        start = len(stream.audio)
        stream.audio += chunk
        if self.drop_after_audio_bytes is not None and len(stream.audio) >= self.drop_after_audio_bytes:
            await stream.socket.close(code=1011, message=b"injected failure")
            return
        voiced = [offset for offset in range(0, len(chunk), FRAME_BYTES)
                  if audioop.rms(audioop.ulaw2lin(chunk[offset : offset + FRAME_BYTES], 2), 2) >= VOICED_RMS]
        if not voiced:
            return
        loop = asyncio.get_running_loop()
        if not stream.in_speech:
            stream.in_speech = True
            stream.speech_started_at = (start + voiced[0]) / SAMPLE_RATE
            await self._send(stream, self._speech_started(stream))
            loop.call_later(self.interim_after, lambda: asyncio.ensure_future(self._interim(stream)))
        if stream.final_timer is not None:
            stream.final_timer.cancel()
        finish = lambda: asyncio.ensure_future(self._finish_speech(stream))  # noqa: E731
        stream.final_timer = loop.call_later(self.final_delay, finish)

    def _current_text(self) -> str:
        return self.utterances[0] if self.utterances else ""

    async def _interim(self, stream: Stream) -> None:
        words = self._current_text().split()
        if stream.in_speech and len(words) > 1:
            partial = " ".join(words[: len(words) // 2])
            await self._send(stream, self.turn_info_message(stream, "Update", partial) if stream.flux else
                             self.results_message(stream, partial, is_final=False, speech_final=False))

    async def _finish_speech(self, stream: Stream) -> None:
        if not stream.in_speech:
            return
        stream.in_speech = False
        if stream.final_timer is not None:
            stream.final_timer.cancel()
        text = self.utterances.pop(0) if self.utterances else ""
        if stream.flux:
            if "eager_eot_threshold" in stream.query and text:
                await self._send(stream, self.turn_info_message(stream, "EagerEndOfTurn", text))
            await self._send(stream, self.turn_info_message(stream, "EndOfTurn", text))
            stream.turn_index += 1
        else:
            await self._send(stream, self.results_message(stream, text, is_final=True, speech_final=True))

    def _speech_started(self, stream: Stream) -> dict:
        if stream.flux:
            return self.turn_info_message(stream, "StartOfTurn", "")
        return {"type": "SpeechStarted", "channel": [0, 1], "timestamp": round(stream.speech_started_at, 3)}

    def results_message(self, stream: Stream, text: str, *, is_final: bool, speech_final: bool) -> dict:
        start = round(stream.speech_started_at, 3)
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(stream.seconds - start, 3),
            "start": start,
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {"alternatives": [{"transcript": text, "confidence": 0.98, "words": _words(text, start)}]},
            "metadata": {"request_id": str(uuid.uuid4()), "model_info": {"name": "fake", "version": "1", "arch": "x"},
                         "model_uuid": str(uuid.uuid4())},
            "from_finalize": False,
        }

    def turn_info_message(self, stream: Stream, event: str, text: str) -> dict:
        return {
            "type": "TurnInfo",
            "request_id": str(uuid.uuid4()),
            "sequence_id": 0,
            "event": event,
            "turn_index": stream.turn_index,
            "audio_window_start": round(stream.speech_started_at, 3),
            "audio_window_end": round(stream.seconds, 3),
            "transcript": text,
            "words": [{"word": word, "confidence": 0.98} for word in text.split()],
            "end_of_turn_confidence": 0.9 if event in ("EagerEndOfTurn", "EndOfTurn") else 0.1,
        }

    async def _send(self, stream: Stream, message: dict) -> None:
        if stream.socket is not None and not stream.socket.closed:
            await stream.socket.send_str(json.dumps(message))


def _words(text: str, start: float) -> list[dict]:
    return [
        {"word": word.lower().strip(".,?!"), "start": start + 0.3 * index, "end": start + 0.3 * index + 0.25,
         "confidence": 0.98, "punctuated_word": word}
        for index, word in enumerate(text.split())
    ]


def speech(seconds: float) -> bytes:
    """Voiced-looking 8 kHz mu-law (a 440 Hz tone) for the energy detector."""
    rate = SAMPLE_RATE
    samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(rate * seconds)))
    pcm = b"".join(sample.to_bytes(2, "little", signed=True) for sample in samples)
    return audioop.lin2ulaw(pcm, 2)
