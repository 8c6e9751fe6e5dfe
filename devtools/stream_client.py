"""Twilio's side of a media stream, played by our own code: the local Twilio's phone bridge,
`manage.py simulate_call`, the tests and the benchmark all open the stream through this.
Development tooling: production never plays Twilio's side.

It behaves like Twilio: a handshake signed with the auth token over the public stream URL,
`connected` then `start` (with the `<Parameter>`s of the `<Stream>` noun as
`customParameters`, a name-to-value object) then `media` frames of 20 ms, `dtmf`,
`stop`; audio it receives is "played" on a timeline at real speed (or `speed` times faster),
each `mark` is echoed when the audio sent before it has finished playing, and a `clear`
drops the unplayed audio and echoes every pending mark at once.
"""

import asyncio
import base64
import contextlib
import io
import json
import secrets
import time
import wave
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from voice.audio import FRAME_BYTES, PCM_WIDTH, SAMPLE_RATE, mulaw_to_pcm
from voice.streams import handshake_signature, stream_parameters

MULAW_SILENCE = 0xFF


def mulaw_to_wav(mulaw: bytes) -> bytes:
    """8 kHz mu-law → a 16-bit PCM WAV a person can listen to."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(PCM_WIDTH)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(mulaw_to_pcm(mulaw))
    return buffer.getvalue()


def silence(seconds: float) -> bytes:
    return bytes([MULAW_SILENCE]) * int(seconds * SAMPLE_RATE)


@dataclass
class Utterance:
    """Audio queued on the line, with when its first and last frames actually went out."""

    frames: int
    started_at: float | None = None
    ended_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Received:
    """What the stream's far end sent, with monotonic timestamps."""

    media: list[tuple[float, bytes]] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)  # marks as received
    echoed: list[tuple[float, str]] = field(default_factory=list)  # marks as echoed back
    clears: list[float] = field(default_factory=list)

    def first_media_after(self, moment: float) -> float | None:
        return next((at for at, _ in self.media if at >= moment), None)

    def first_clear_after(self, moment: float) -> float | None:
        return next((at for at in self.clears if at >= moment), None)


class TwilioMediaStream:
    """One media stream, as Twilio opens it to `url` for a call."""

    def __init__(
        self,
        *,
        url: str,
        auth_token: str,
        call_sid: str,
        custom_parameters: dict[str, str],
        account_sid: str = "AC" + "0" * 32,
        signature: str | None = None,
        speed: float = 1.0,
        on_audio: Callable[[bytes], Awaitable[None]] | None = None,
        on_clear: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.url = url
        self.signature = handshake_signature(url, auth_token) if signature is None else signature
        self.call_sid = call_sid
        self.account_sid = account_sid
        self.custom_parameters = custom_parameters
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.speed = speed
        self.on_audio = on_audio  # each frame the app sends, as it arrives (a phone's speaker)
        self.on_clear = on_clear
        self.received = Received()
        self.close_code: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._owns_session = False
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self._sequence = 0
        self._sent_samples = 0
        self._timeline = bytearray()  # what the person heard, sample by sample from `_started`
        self._started = 0.0
        self._pending_marks: deque[tuple[str, asyncio.TimerHandle]] = deque()
        self._changed = asyncio.Event()
        self._outbox: deque[tuple[bytes, Utterance | None]] = deque()
        self._line: asyncio.Task | None = None

    @classmethod
    def for_call(cls, *, url: str, auth_token: str, call_sid: str, call_id: str, persona_id: str, **options):
        """The stream Twilio opens for one of our calls, with the `<Parameter>`s our answer's
        TwiML gives it (its id, persona and stream token: made with this process's SECRET_KEY,
        which must be the server's), as Twilio hands them back in `start.customParameters`."""
        return cls(
            url=url,
            auth_token=auth_token,
            call_sid=call_sid,
            custom_parameters=stream_parameters(call_id=call_id, call_sid=call_sid, persona_id=persona_id),
            **options,
        )

    # --- Opening and closing -----------------------------------------------------------------

    async def open(self, session: aiohttp.ClientSession | None = None, *, start: bool = True) -> None:
        """Handshake, `connected` and `start`, as Twilio sends them when the call connects
        (`start=False`: a socket that stops after `connected`, as no real Twilio does)."""
        self._owns_session = session is None
        self._session = session or aiohttp.ClientSession()
        self._socket = await self._session.ws_connect(
            self.url, headers={"X-Twilio-Signature": self.signature}, autoping=True, max_msg_size=0
        )
        self._started = time.monotonic()
        self._reader = asyncio.create_task(self._read())
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        if not start:
            return
        await self._send(
            {
                "event": "start",
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": SAMPLE_RATE, "channels": 1},
                    "customParameters": self.custom_parameters,
                },
                "streamSid": self.stream_sid,
            }
        )

    async def stop(self) -> None:
        """The call is over on Twilio's side: `stop`, then close the socket."""
        if self._socket is not None and not self._socket.closed:
            await self._send(
                {"event": "stop", "stop": {"accountSid": self.account_sid, "callSid": self.call_sid}},
                raise_on_closed=False,
            )
        await self.close()

    async def close(self) -> None:
        if self._line is not None:
            self._line.cancel()
            await asyncio.gather(self._line, return_exceptions=True)
        for _, handle in self._pending_marks:
            handle.cancel()
        self._pending_marks.clear()
        if self._socket is not None and not self._socket.closed:
            await self._socket.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._owns_session and self._session is not None:
            await self._session.close()

    async def wait_closed(self) -> None:
        """Returns once the far end has closed the stream."""
        if self._reader is not None:
            await asyncio.shield(self._reader)

    @property
    def closed(self) -> bool:
        return self._socket is None or self._socket.closed

    # --- What the person says ----------------------------------------------------------------

    async def send_audio(self, mulaw: bytes, *, paced: bool = True) -> None:
        """The person's audio in 20 ms `media` frames, on the wall clock (scaled by `speed`)
        unless `paced` is False."""
        frame_seconds = FRAME_BYTES / SAMPLE_RATE / self.speed
        began = time.monotonic()
        for index, offset in enumerate(range(0, len(mulaw), FRAME_BYTES)):
            if paced:
                delay = began + index * frame_seconds - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if self.closed:
                return
            await self.send_frame(mulaw[offset : offset + FRAME_BYTES])

    def start_line(self) -> None:
        """Send a frame every 20 ms from now on, as a phone line does: queued audio (`say`,
        `push_frame`) when there is some, silence otherwise."""
        if self._line is None:
            self._line = asyncio.create_task(self._run_line())

    def say(self, mulaw: bytes) -> Utterance:
        """Queue the person's words on the line; the result tells when they were sent."""
        frames = [mulaw[offset : offset + FRAME_BYTES] for offset in range(0, len(mulaw), FRAME_BYTES)]
        utterance = Utterance(frames=len(frames))
        self._outbox.extend((frame, utterance) for frame in frames)
        return utterance

    @property
    def queued_frames(self) -> int:
        return len(self._outbox)

    def push_frame(self, frame: bytes) -> None:
        """A live microphone frame, sent on the next tick of the line."""
        self._outbox.append((frame, None))

    async def _run_line(self) -> None:
        frame_seconds = FRAME_BYTES / SAMPLE_RATE / self.speed
        silent_frame = silence(FRAME_BYTES / SAMPLE_RATE)
        next_at = time.monotonic()
        while not self.closed:
            frame, utterance = self._outbox.popleft() if self._outbox else (silent_frame, None)
            await self.send_frame(frame)
            if utterance is not None:
                now = time.monotonic()
                if utterance.started_at is None:
                    utterance.started_at = now
                utterance.frames -= 1
                if utterance.frames == 0:
                    utterance.ended_at = now
                    utterance.done.set()
            next_at += frame_seconds
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                next_at = time.monotonic()  # far behind (a stalled loop): do not burst to catch up

    async def send_frame(self, frame: bytes) -> None:
        # Every caller sends 50 of these a second: the message is formatted, not built and dumped.
        self._sequence += 1
        chunk = self._sent_samples // FRAME_BYTES + 1
        timestamp = self._sent_samples // (SAMPLE_RATE // 1000)
        self._sent_samples += len(frame)
        payload = base64.b64encode(frame).decode("ascii")
        await self._send_text(
            f'{{"event":"media","sequenceNumber":"{self._sequence}","media":{{"track":"inbound",'
            f'"chunk":"{chunk}","timestamp":"{timestamp}","payload":"{payload}"}},"streamSid":"{self.stream_sid}"}}',
            raise_on_closed=False,
        )

    async def send_silence(self, seconds: float, *, paced: bool = True) -> None:
        await self.send_audio(silence(seconds), paced=paced)

    async def send_dtmf(self, digit: str) -> None:
        await self._send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}})

    # --- What the person hears ---------------------------------------------------------------

    def heard_audio(self) -> bytes:
        """The persona's side as the person heard it, silences included, up to now."""
        return bytes(self._timeline[: self._now_sample()])

    @property
    def playing(self) -> bool:
        """Audio received is still being played to the person."""
        return len(self._timeline) > self._now_sample()

    async def listen(self, *, timeout: float, quiet: float = 1.0, since: float | None = None) -> bool:
        """Waits for the persona to start talking (after `since`, default now) and then to finish
        (`quiet` seconds with nothing left to play); True when it did within `timeout`."""
        since = time.monotonic() if since is None else since
        if not await self.wait_until(lambda: self.received.first_media_after(since) is not None, timeout=timeout):
            return False
        return await self.wait_until(
            lambda: not self.playing and time.monotonic() - self.received.media[-1][0] >= quiet / self.speed,
            timeout=timeout,
        )

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float) -> bool:
        """Waits (bounded) for `condition` over what was received; True when it held."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
        return True

    async def _read(self) -> None:
        assert self._socket is not None
        async for message in self._socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            event = data.get("event")
            now = time.monotonic()
            if event == "media":
                await self._play(now, base64.b64decode(data["media"]["payload"]))
            elif event == "mark":
                self._hold_mark(now, data["mark"]["name"])
            elif event == "clear":
                self._clear(now)
                if self.on_clear is not None:
                    await self.on_clear()
            self._changed.set()
        self.close_code = self._socket.close_code
        self._changed.set()

    def _now_sample(self) -> int:
        return int((time.monotonic() - self._started) * self.speed * SAMPLE_RATE)

    async def _play(self, now: float, audio: bytes) -> None:
        self.received.media.append((now, audio))
        gap = self._now_sample() - len(self._timeline)
        if gap > 0:
            self._timeline.extend(bytes([MULAW_SILENCE]) * gap)
        self._timeline.extend(audio)
        if self.on_audio is not None:
            await self.on_audio(audio)

    def _hold_mark(self, now: float, name: str) -> None:
        """Echo the mark when the audio queued before it has played."""
        self.received.marks.append((now, name))
        delay = max(0.0, (len(self._timeline) - self._now_sample()) / SAMPLE_RATE / self.speed)
        handle = asyncio.get_running_loop().call_later(delay, self._echo_next_mark)
        self._pending_marks.append((name, handle))

    def _echo_next_mark(self) -> None:
        if self._pending_marks:
            name, _ = self._pending_marks.popleft()
            self._echo(name)

    def _echo(self, name: str) -> None:
        self.received.echoed.append((time.monotonic(), name))
        asyncio.get_running_loop().create_task(
            self._send({"event": "mark", "mark": {"name": name}}, raise_on_closed=False)
        )

    def _clear(self, now: float) -> None:
        """Unplayed audio is dropped and every pending mark comes back at once, as Twilio does."""
        self.received.clears.append(now)
        del self._timeline[max(self._now_sample(), 0) :]
        while self._pending_marks:
            name, handle = self._pending_marks.popleft()
            handle.cancel()
            self._echo(name)

    async def _send(self, message: dict, *, raise_on_closed: bool = True) -> None:
        if message["event"] != "connected":
            self._sequence += 1
            message.setdefault("streamSid", self.stream_sid)
            message["sequenceNumber"] = str(self._sequence)
        await self._send_text(json.dumps(message), raise_on_closed=raise_on_closed)

    async def _send_text(self, text: str, *, raise_on_closed: bool) -> None:
        if self._socket is None or self._socket.closed:
            if raise_on_closed:
                raise ConnectionError("The media stream is closed.")
            return
        try:
            await self._socket.send_str(text)
        except ConnectionError:
            if raise_on_closed:
                raise
