"""Local speech-to-text with PocketSphinx, for running without a Deepgram key.

The phone's 8 kHz mu-law is decoded to PCM, a WebRTC voice-activity detector marks each
20 ms frame voiced or not, and a small endpointer turns that into the same events Deepgram
gives: SpeechStarted after a few voiced frames, interim transcripts while the person talks,
and a final end-of-turn transcript after `end_silence_ms` of silence. PocketSphinx wants
16 kHz, so speech is resampled before decoding. Decoding is CPU-heavy and runs in a
worker thread, one job at a time per stream; the event loop only does the cheap framing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import webrtcvad

from .audio import Resampler, mulaw_to_pcm
from .base import SpeechStarted, SttEvent, TranscriptUpdate

logger = logging.getLogger(__name__)

FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law
FRAME_SECONDS = 0.02
DECODER_RATE = 16000
# Initial cepstral mean for telephone-band speech upsampled to 16 kHz. The model's default
# suits wideband audio, and live normalisation only adapts after a first utterance, which
# would otherwise be misheard on every new decoder.
TELEPHONE_CMN = "49.8,2.39,0.31,5.46,-0.19,-0.13,-3.33,-6.43,-8.15,1.94,0.01,2.55,-3.95"
_END = object()


@dataclass(frozen=True)
class EndpointerConfig:
    start_frames: int = 3  # voiced frames in a row that start speech (60 ms)
    end_silence_ms: int = 600  # silence that ends the turn
    pre_roll_frames: int = 15  # audio kept from before speech started (300 ms)
    interim_every_frames: int = 15  # decode and report an interim every 300 ms of speech
    vad_mode: int = 2  # webrtcvad aggressiveness, 0-3


class PocketSphinxStt:
    """Keeps idle decoders for reuse: loading the model takes a noticeable fraction of a second."""

    label = "pocketsphinx (local)"

    def __init__(self, *, config: EndpointerConfig | None = None) -> None:
        self._config = config or EndpointerConfig()
        self._idle_decoders: list = []

    async def open_stream(self) -> PocketSphinxStream:
        decoder = self._idle_decoders.pop() if self._idle_decoders else await asyncio.to_thread(_new_decoder)
        return PocketSphinxStream(decoder, self._config, release=self._idle_decoders.append)


def _new_decoder():
    from pocketsphinx import Decoder  # imported on first use: it loads a native library

    return Decoder(samprate=DECODER_RATE, cmninit=TELEPHONE_CMN, loglevel="FATAL")


class PocketSphinxStream:
    def __init__(self, decoder, config: EndpointerConfig, *, release) -> None:
        self._decoder = decoder
        self._config = config
        self._release = release
        self._vad = webrtcvad.Vad(config.vad_mode)
        self._resampler = Resampler(8000, DECODER_RATE)
        self._pending = b""
        self._frames_seen = 0
        self._voiced_run = 0
        self._silent_run = 0
        self._in_speech = False
        self._pre_roll: deque[bytes] = deque(maxlen=config.pre_roll_frames)
        self._speech: list[bytes] = []  # 16 kHz PCM not yet handed to the decoder
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

    async def events(self) -> AsyncIterator[SttEvent]:
        while True:
            event = await self._events.get()
            if event is _END:
                return
            yield event

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._in_speech:  # end the utterance so the decoder goes back to the pool clean
            self._in_speech = False
            self._jobs.put_nowait(("end", self._take_speech()))
        self._jobs.put_nowait(_END)
        await self._worker
        self._release(self._decoder)
        self._events.put_nowait(_END)

    def _frame(self, mulaw: bytes) -> None:
        pcm = mulaw_to_pcm(mulaw)
        voiced = self._vad.is_speech(pcm, 8000)
        wide = self._resampler.convert(pcm)
        self._frames_seen += 1
        config = self._config
        if not self._in_speech:
            self._pre_roll.append(wide)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= config.start_frames:
                self._in_speech = True
                self._silent_run = 0
                started = (self._frames_seen - self._voiced_run) * FRAME_SECONDS
                self._events.put_nowait(SpeechStarted(timestamp=round(started, 3)))
                self._jobs.put_nowait(("start", b"".join(self._pre_roll)))
                self._pre_roll.clear()
            return
        self._speech.append(wide)
        self._silent_run = 0 if voiced else self._silent_run + 1
        if self._silent_run * FRAME_SECONDS * 1000 >= config.end_silence_ms:
            self._in_speech = False
            self._voiced_run = 0
            self._jobs.put_nowait(("end", self._take_speech()))
        elif len(self._speech) >= config.interim_every_frames:
            self._jobs.put_nowait(("feed", self._take_speech()))

    def _take_speech(self) -> bytes:
        audio = b"".join(self._speech)
        self._speech.clear()
        return audio

    async def _work(self) -> None:
        """Runs decoder jobs in order, each in a thread, and reports what they heard."""
        last_interim = ""
        while True:
            job = await self._jobs.get()
            if job is _END:
                return
            kind, audio = job
            try:
                text = await asyncio.to_thread(_decode, self._decoder, kind, audio)
            except RuntimeError:
                logger.exception("Local speech recognition failed on an utterance")
                continue
            if kind == "end":
                last_interim = ""
                if text:
                    self._events.put_nowait(TranscriptUpdate(text=text, is_final=True, end_of_turn=True))
            elif text and text != last_interim:
                last_interim = text
                self._events.put_nowait(TranscriptUpdate(text=text, is_final=False, end_of_turn=False))


def _decode(decoder, kind: str, audio: bytes) -> str:
    if kind == "start":
        decoder.start_utt()
    decoder.process_raw(audio, False, False)
    if kind == "end":
        decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr.strip() if hypothesis is not None else ""
