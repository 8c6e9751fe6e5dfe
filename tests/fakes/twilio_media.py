"""Twilio's side of a media stream for tests: the real client in `devtools.stream_client` (signed
handshake, `connected`/`start`/`media`/`mark`/`stop`, marks echoed as the audio plays, `clear`
honoured, everything received recorded with timestamps) plus the caller's voice.

The caller speaks with espeak-ng converted to 8 kHz mu-law, so the server's voice-activity
detection and the loopback recogniser hear real speech.
"""

import functools
import subprocess

from devtools.stream_client import TwilioMediaStream
from voice.audio import wav_to_mulaw

TEST_AUTH_TOKEN = "test-twilio-auth-token"


@functools.cache
def speech(text: str) -> bytes:
    """`text` spoken by espeak-ng, as a phone line carries it (8 kHz mu-law)."""
    wav = subprocess.run(
        ["espeak-ng", "--stdout", "-s", "170", text], check=True, capture_output=True, timeout=30
    ).stdout
    return wav_to_mulaw(wav)


def caller_stream(*, ws_url: str, call, auth_token: str = TEST_AUTH_TOKEN, **options) -> TwilioMediaStream:
    """The stream Twilio opens to `ws_url` for `call` once the person answers."""
    return TwilioMediaStream.for_call(
        url=f"{ws_url}/api/voice/stream",
        auth_token=auth_token,
        call_sid=call.sid,
        call_id=str(call.id),
        persona_id=str(call.persona_id),
        **options,
    )
