"""The phone page's microphone and speaker on a call's `<Connect><Stream>`.

When the local Twilio follows `<Connect><Stream>`, `PhoneAudioBridge` opens the media stream
to the app exactly as Twilio does (it is `devtools.stream_client.TwilioMediaStream`: signed
handshake, `start` with the `<Parameter>`s, a 20 ms frame every 20 ms, marks echoed as the
audio plays, `clear` honoured). The phone page joins the call on
`/phone/calls/<sid>/audio`: binary messages up are its microphone (8 kHz mu-law, 160-byte
frames), binary messages down are what the persona says, and a text `clear` tells it to drop
what it has not played yet. Without a page on the line (auto-answer, no microphone) the
stream carries silence, as a phone nobody speaks into does.
"""

import aiohttp
from aiohttp import web

from devtools.localtwilio.account import TwilioAccount
from devtools.localtwilio.media import MediaStreamBridge, StreamRequest
from devtools.localtwilio.state import Call
from devtools.stream_client import TwilioMediaStream
from voice.audio import FRAME_BYTES

MAX_PHONE_FRAMES_QUEUED = 50  # a second of microphone audio; older frames are dropped


class PhoneAudioBridge(MediaStreamBridge):
    def __init__(self, twilio: TwilioAccount) -> None:
        self.twilio = twilio
        self.streams: dict[str, TwilioMediaStream] = {}
        self.phones: dict[str, set[web.WebSocketResponse]] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/phone/calls/{sid}/audio", self.phone_socket)

    async def run(self, *, call: Call, stream: StreamRequest, session: aiohttp.ClientSession) -> None:
        media = TwilioMediaStream(
            url=stream.url,
            auth_token=self.twilio.auth_token,
            account_sid=call.account_sid,
            call_sid=call.sid,
            custom_parameters=stream.parameters,
            on_audio=lambda audio: self._to_phones(call.sid, audio),
            on_clear=lambda: self._to_phones(call.sid, "clear"),
        )
        try:
            await media.open(session)
        except (aiohttp.ClientError, OSError) as error:
            self.twilio.log(f"Call {call.sid}: the media stream to {stream.url} could not open ({error})")
            raise
        media.start_line()
        self.streams[call.sid] = media
        self.twilio.log(f"Call {call.sid}: media stream open to {stream.url}")
        try:
            await media.wait_closed()  # the app ended the stream
        finally:
            self.streams.pop(call.sid, None)
            await media.stop()  # the call ended first: Twilio's `stop`
            for phone in list(self.phones.pop(call.sid, ())):
                await phone.close()

    async def phone_socket(self, request: web.Request) -> web.WebSocketResponse:
        """The phone page on the line: only from the local Twilio's own pages."""
        origin = request.headers.get("Origin", "")
        if origin.split("://", 1)[-1] != request.host:
            raise web.HTTPForbidden(text="The phone page is served here; other sites cannot join a call.")
        sid = request.match_info["sid"]
        socket = web.WebSocketResponse(max_msg_size=64 * 1024)
        await socket.prepare(request)
        phones = self.phones.setdefault(sid, set())
        phones.add(socket)
        try:
            async for message in socket:
                media = self.streams.get(sid)
                if message.type == aiohttp.WSMsgType.BINARY and media is not None:
                    for offset in range(0, len(message.data) - FRAME_BYTES + 1, FRAME_BYTES):
                        if media.queued_frames < MAX_PHONE_FRAMES_QUEUED:
                            media.push_frame(message.data[offset : offset + FRAME_BYTES])
        finally:
            phones.discard(socket)
        return socket

    async def _to_phones(self, sid: str, audio: bytes | str) -> None:
        for phone in list(self.phones.get(sid, ())):
            try:
                if isinstance(audio, str):
                    await phone.send_str(audio)
                else:
                    await phone.send_bytes(audio)
            except ConnectionError:
                self.phones.get(sid, set()).discard(phone)
