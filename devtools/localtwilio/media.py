"""The extension point for `<Connect><Stream>`: how a call's audio would reach the app.

On `<Connect><Stream url="wss://…">` Twilio opens a websocket to `url` and sends JSON
messages: `connected`, then `start` (callSid, streamSid, tracks, customParameters from
`<Parameter>`), then `media` frames (base64 μ-law 8 kHz, 20 ms each) of what the callee
says; the app answers with `media` frames to play, `mark` to learn when playback reached a
point and `clear` to cut it off (barge-in). The call stays on `<Connect>` until the
websocket closes; then the TwiML goes on with the next verb.
"""

import asyncio
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from devtools.localtwilio.state import Call


@dataclass(frozen=True)
class StreamRequest:
    """A `<Stream>` noun: where to connect and what to send in the `start` message."""

    url: str
    track: str = "inbound_track"
    parameters: dict[str, str] = field(default_factory=dict)


class MediaStreamBridge:
    """Carries one call's audio between the phone page and the app's media-stream websocket.

    This base bridge carries no audio: it holds the line until the call ends (hang-up, time
    limit), so callbacks, billing and the phone page behave as they will with audio. A bridge
    with audio subclasses it and overrides `run`: connect to `stream.url` with `session`,
    send `connected` and `start`, relay the phone page's microphone as `media` frames and
    play the frames the app sends on the phone page's speaker (the phone page would open its
    own websocket to the local Twilio for that), then return when the app closes the
    stream. `run` is cancelled when the call ends first. Install it with
    `LocalTwilio(media_bridge=...)`.
    """

    def add_routes(self, app: web.Application) -> None:
        """Routes a bridge serves on the local Twilio (the phone page's audio); none here."""

    async def run(self, *, call: Call, stream: StreamRequest, session: aiohttp.ClientSession) -> None:
        await asyncio.Event().wait()
