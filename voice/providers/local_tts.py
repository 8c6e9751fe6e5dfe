"""Local text-to-speech with espeak-ng, for running without an ElevenLabs key.

espeak-ng runs as a subprocess (never blocking the event loop), writes a WAV to its stdout,
and the clip is converted to 8 kHz mu-law. espeak-ng gives no timings, so each character
gets an equal share of the clip's duration as its alignment: good enough to cut an
interrupted turn to roughly the words that were played.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from voice.audio import mulaw_duration_ms, wav_to_mulaw

from .base import END_OF_STREAM, AudioChunk, ContextDone, ProviderError, VoiceSettings, queued_output

WORDS_PER_MINUTE = 175  # espeak-ng's default rate, for speed 1.0
# espeak-ng voice variants; a persona's voice id picks one, so personas sound different.
VARIANTS = ("m3", "f3", "m1", "f2", "m7", "f4")
_END = END_OF_STREAM


class EspeakTts:
    label = "espeak-ng (local)"

    def __init__(self, *, executable: str = "espeak-ng", language: str = "en-us") -> None:
        self._executable = executable
        self._language = language

    def command(self, voice: VoiceSettings) -> list[str]:
        variant = variant_for(voice.voice_id)
        speed = max(80, round(WORDS_PER_MINUTE * voice.speed))
        return [self._executable, "-v", f"{self._language}+{variant}", "-s", str(speed), "--stdout", "--stdin"]

    async def synthesize(self, text: str, voice: VoiceSettings) -> bytes:
        return await _speak(self.command(voice), text)

    async def open_session(self, voice: VoiceSettings) -> EspeakSession:
        return EspeakSession(self.command(voice))


def variant_for(voice_id: str) -> str:
    return VARIANTS[zlib.crc32(voice_id.encode()) % len(VARIANTS)]


async def _speak(command: list[str], text: str, *, running: list | None = None) -> bytes:
    """Runs espeak-ng on `text`; `running` receives the process so a caller can kill it."""
    if not text.strip():
        return b""
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as error:
        raise ProviderError(f"espeak-ng could not start: {error.strerror}") from error
    if running is not None:
        running[:] = [process]
    try:
        wav, errors = await process.communicate(text.encode())
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise ProviderError(f"espeak-ng failed ({process.returncode}): {errors.decode(errors='replace').strip()}")
    try:
        return wav_to_mulaw(wav)
    except ValueError as error:
        raise ProviderError(f"espeak-ng wrote unreadable audio: {error}") from error


def spread_alignment(text: str, duration_ms: int) -> tuple[tuple[str, int, int], ...]:
    """Each character an equal slice of the clip, from the clip's start."""
    if not text:
        return ()
    share = duration_ms / len(text)
    return tuple((char, round(index * share), round(share)) for index, char in enumerate(text))


@dataclass(frozen=True)
class _Speak:
    context_id: str
    text: str


@dataclass(frozen=True)
class _Finish:
    context_id: str


class EspeakSession:
    """Text is buffered per context and spoken at each flush and at finish, one clip at a
    time in order by a worker task; cancelling a context kills its clip in progress.
    """

    def __init__(self, command: list[str]) -> None:
        self._command = command
        self._buffers: dict[str, str] = {}
        self._cancelled: set[str] = set()
        self._jobs: asyncio.Queue = asyncio.Queue()
        self._output: asyncio.Queue = asyncio.Queue()
        self._speaking: str | None = None
        self._process: list = []
        self._worker = asyncio.create_task(self._work(), name="espeak-session")

    async def send_text(self, context_id: str, text: str, *, flush: bool = False) -> None:
        if context_id in self._cancelled:
            return
        self._buffers[context_id] = self._buffers.get(context_id, "") + text
        if flush:
            self._jobs.put_nowait(_Speak(context_id, self._buffers.pop(context_id)))

    async def finish(self, context_id: str) -> None:
        if context_id in self._cancelled:
            return
        remaining = self._buffers.pop(context_id, "")
        if remaining:
            self._jobs.put_nowait(_Speak(context_id, remaining))
        self._jobs.put_nowait(_Finish(context_id))

    async def cancel(self, context_id: str) -> None:
        self._cancelled.add(context_id)
        self._buffers.pop(context_id, None)
        if self._speaking == context_id:
            self._kill()

    def audio(self) -> AsyncIterator[AudioChunk | ContextDone]:
        return queued_output(self._output)

    async def close(self) -> None:
        self._worker.cancel()
        self._kill()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._output.put_nowait(_END)

    def _kill(self) -> None:
        for process in self._process:
            if process.returncode is None:
                process.kill()

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            if job.context_id in self._cancelled:
                continue
            if isinstance(job, _Finish):
                self._output.put_nowait(ContextDone(job.context_id))
                continue
            self._speaking = job.context_id
            try:
                mulaw = await _speak(self._command, job.text, running=self._process)
            except ProviderError as error:
                if job.context_id in self._cancelled:
                    continue  # killed on purpose
                self._output.put_nowait(error)
                return
            finally:
                self._speaking = None
            if mulaw and job.context_id not in self._cancelled:
                alignment = spread_alignment(job.text, mulaw_duration_ms(mulaw))
                self._output.put_nowait(AudioChunk(context_id=job.context_id, mulaw=mulaw, alignment=alignment))
