"""Local speech-to-text with PocketSphinx, for running without a Deepgram key.

The phone's 8 kHz mu-law is decoded to PCM, a WebRTC voice-activity detector marks each
20 ms frame voiced or not, and a small endpointer turns that into the same events Deepgram
gives: SpeechStarted after a few voiced frames, interim transcripts while the person talks,
and a final end-of-turn transcript after `end_silence_ms` of silence. PocketSphinx wants
16 kHz, so speech is resampled before decoding.

Decoding is CPU-heavy and PocketSphinx keeps the GIL while it decodes, so a thread would
still stall the event loop: utterances are decoded, each as a whole, by a decoder process
(sphinx_worker.py) shared by every call. The event loop only does the cheap framing.
"""

from __future__ import annotations

import asyncio
import struct
import sys
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import webrtcvad

from voice.audio import FRAME_BYTES, FRAME_SECONDS, PCM_WIDTH, SAMPLE_RATE, Resampler, mulaw_to_pcm

from .base import END_OF_STREAM, ProviderError, SpeechStarted, SttEvent, TranscriptUpdate, queued_output
from .sphinx_worker import DECODER_SAMPLE_RATE

DECODER_SCRIPT = Path(__file__).with_name("sphinx_worker.py")
_END = END_OF_STREAM


@dataclass(frozen=True)
class EndpointerConfig:
    start_frames: int = 3  # voiced frames in a row that start speech (60 ms)
    end_silence_ms: int = 600  # silence that ends the turn
    pre_roll_frames: int = 15  # audio kept from before speech started (300 ms)
    interim_every_frames: int = 15  # report an interim every 300 ms of speech...
    interim_max_seconds: float = 6.0  # ...while the utterance is short enough to re-decode cheaply
    vad_mode: int = 2  # webrtcvad aggressiveness, 0-3


class PocketSphinxStt:
    label = "pocketsphinx (local)"
    audio_chunk_ms = 40

    def __init__(self, *, config: EndpointerConfig | None = None, decoder_command: list[str] | None = None) -> None:
        self._config = config or EndpointerConfig()
        self._decoder = DecoderProcess(decoder_command or [sys.executable, str(DECODER_SCRIPT)])

    async def open_stream(self) -> PocketSphinxStream:
        return PocketSphinxStream(self._decoder, self._config)

    async def aclose(self) -> None:
        await self._decoder.stop()


class DecoderProcess:
    """The decoder process, started on first use and again if it dies; one utterance at a
    time. Like the streams, it belongs to the one event loop of the process that uses it.
    """

    def __init__(self, command: list[str]) -> None:
        self._command = command
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def recognise(self, pcm: bytes) -> str:
        async with self._lock:
            try:
                process = await self._started()
                process.stdin.write(struct.pack(">I", len(pcm)) + pcm)
                await process.stdin.drain()
                size = struct.unpack(">I", await process.stdout.readexactly(4))[0]
                return (await process.stdout.readexactly(size)).decode()
            except (OSError, asyncio.IncompleteReadError) as error:
                await self._discard()
                raise ProviderError(f"the local speech recogniser stopped: {type(error).__name__}") from error
            except asyncio.CancelledError:
                await self._discard()  # its answer would reach the next utterance's reader
                raise

    async def _discard(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.returncode is None:
                process.kill()
            await process.wait()

    async def _started(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            self._process = await asyncio.create_subprocess_exec(
                *self._command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
        return self._process

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.stdin.close()  # the worker exits at end of input
            await process.wait()


class PocketSphinxStream:
    def __init__(self, decoder: DecoderProcess, config: EndpointerConfig) -> None:
        self._decoder = decoder
        self._config = config
        self._vad = webrtcvad.Vad(config.vad_mode)
        self._resampler = Resampler(SAMPLE_RATE, DECODER_SAMPLE_RATE)
        self._pending = b""
        self._frames_seen = 0
        self._voiced_run = 0
        self._silent_run = 0
        self._in_speech = False
        self._pre_roll: deque[bytes] = deque(maxlen=config.pre_roll_frames)
        self._utterance = bytearray()  # 16 kHz PCM of the speech so far
        self._frames_since_interim = 0
        self._interim_queued = False
        self._jobs: asyncio.Queue = asyncio.Queue()
        self._events: asyncio.Queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._work(), name="pocketsphinx-stream")
        self._closed = False

    async def send_audio(self, mulaw: bytes) -> None:
        data = self._pending + mulaw if self._pending else mulaw
        usable = len(data) - len(data) % FRAME_BYTES
        self._pending = data[usable:]
        for offset in range(0, usable, FRAME_BYTES):
            self._frame(data[offset : offset + FRAME_BYTES])

    async def keep_alive(self) -> None:
        """Nothing times out locally."""

    def events(self) -> AsyncIterator[SttEvent]:
        return queued_output(self._events)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put_nowait(_END)
        await self._worker
        self._events.put_nowait(_END)

    def _frame(self, mulaw: bytes) -> None:
        pcm = mulaw_to_pcm(mulaw)
        voiced = self._vad.is_speech(pcm, SAMPLE_RATE)
        wide = self._resampler.convert(pcm)
        self._frames_seen += 1
        config = self._config
        if not self._in_speech:
            self._pre_roll.append(wide)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= config.start_frames:
                self._in_speech = True
                self._silent_run = 0
                self._frames_since_interim = 0
                self._utterance = bytearray(b"".join(self._pre_roll))
                self._pre_roll.clear()
                started = (self._frames_seen - self._voiced_run) * FRAME_SECONDS
                self._events.put_nowait(SpeechStarted(timestamp=round(started, 3)))
            return
        self._utterance += wide
        self._silent_run = 0 if voiced else self._silent_run + 1
        self._frames_since_interim += 1
        if self._silent_run * FRAME_SECONDS * 1000 >= config.end_silence_ms:
            self._in_speech = False
            self._voiced_run = 0
            self._jobs.put_nowait(("final", bytes(self._utterance)))
        elif self._frames_since_interim >= config.interim_every_frames and not self._interim_queued:
            self._frames_since_interim = 0
            if len(self._utterance) < config.interim_max_seconds * DECODER_SAMPLE_RATE * PCM_WIDTH:
                self._interim_queued = True  # one at a time: a slow decoder skips interims, never lags
                self._jobs.put_nowait(("interim", bytes(self._utterance)))

    async def _work(self) -> None:
        """Decodes queued utterances in order and reports what they said."""
        last_interim = ""
        while True:
            job = await self._jobs.get()
            if job is _END:
                return
            kind, pcm = job
            try:
                text = await self._decoder.recognise(pcm)
            except ProviderError as error:
                self._events.put_nowait(error)
                return
            if kind == "interim":
                self._interim_queued = False
                if text and text != last_interim:
                    last_interim = text
                    self._events.put_nowait(TranscriptUpdate(text=text, is_final=False, end_of_turn=False))
            else:
                last_interim = ""
                if text:
                    self._events.put_nowait(TranscriptUpdate(text=text, is_final=True, end_of_turn=True))
