"""Twilio Media Streams: where the stream goes, what it carries, and how its handshake is signed.

One place for the public stream URL, the `<Parameter>` names and the signature, shared by the
answer endpoint (which hands the URL to Twilio), the consumer (which checks the handshake),
and everything that plays Twilio (the local Twilio's bridge, `simulate_call`, tests, bench).
"""

import binascii
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from twilio.request_validator import RequestValidator

STREAM_PATH = "/api/voice/stream"
CALL_ID_PARAMETER = "callId"
PERSONA_ID_PARAMETER = "personaId"
STREAM_TOKEN_PARAMETER = "streamToken"
_STREAM_TOKEN_SALT = "voice.streams.stream_token"
# How Twilio lays out the `media` message it sends 50 times a second per call:
# {"event":"media","sequenceNumber":"4","media":{"track":"inbound",...,"payload":"<base64>"},"streamSid":"MZ..."}
MEDIA_MESSAGE_START = '{"event":"media",'
MEDIA_OBJECT = '"media":{'
PAYLOAD_FIELD = '"payload":"'


def stream_url(site_url: str | None = None) -> str:
    """The public websocket URL of the stream: wss:// on SITE_URL's host (ws:// when it is http).

    Twilio signs the handshake against exactly this URL, so it is built from SITE_URL and
    never from the Host header the server happens to see.
    """
    parts = urlsplit(site_url or settings.SITE_URL)
    scheme = "ws" if parts.scheme == "http" else "wss"
    return f"{scheme}://{parts.netloc}{STREAM_PATH}"


def stream_parameters(*, call_id: str, call_sid: str, persona_id: str) -> dict[str, str]:
    """The `<Parameter>`s of one call's `<Stream>`, which Twilio hands back in `start`'s
    `customParameters`: the call, its persona, and a token only we can make for this call
    and its Twilio SID. The handshake's signature is the same for every call (the URL, no
    parameters), so it proves Twilio opened *a* stream; the token proves it is this call's."""
    return {
        CALL_ID_PARAMETER: call_id,
        PERSONA_ID_PARAMETER: persona_id,
        STREAM_TOKEN_PARAMETER: stream_token(call_id=call_id, call_sid=call_sid),
    }


def stream_token(*, call_id: str, call_sid: str) -> str:
    """An HMAC of the call's id and Twilio SID, keyed from SECRET_KEY (salted for this use)."""
    return salted_hmac(_STREAM_TOKEN_SALT, f"{call_id}:{call_sid}", algorithm="sha256").hexdigest()


def stream_token_is_valid(token: str, *, call_id: str, call_sid: str) -> bool:
    return bool(token and call_id and call_sid) and constant_time_compare(
        token, stream_token(call_id=call_id, call_sid=call_sid)
    )


def handshake_signature(url: str, auth_token: str) -> str:
    """The X-Twilio-Signature Twilio sends when it opens a stream: the URL, no parameters."""
    return RequestValidator(auth_token).compute_signature(url, {})


def handshake_is_signed(signature: str | None) -> bool:
    """True when `signature` is Twilio's for our public stream URL and our auth token."""
    token = settings.TWILIO_AUTH_TOKEN
    if not signature or not token:
        return False
    return RequestValidator(token).validate(stream_url(), {}, signature)


def media_message_audio(text: str) -> bytes | None:
    """The audio of an inbound `media` message laid out as Twilio sends it, read without
    parsing the whole message: the JSON parse and a base64 module call were the largest part
    of a frame's cost on the event loop every call shares.

    None for anything else (another event, another layout, a payload that is not strict
    base64): the caller parses that message in full, so the shortcut never decides what a
    message means, only how fast the common one is read. Base64 has no quote or backslash,
    so a strict decode of what lies up to the next quote is exactly the JSON string's value.
    """
    if not text.startswith(MEDIA_MESSAGE_START) or not text.endswith("}"):
        return None
    media = text.find(MEDIA_OBJECT, len(MEDIA_MESSAGE_START) - 1)
    if media < 0:
        return None
    start = text.find(PAYLOAD_FIELD, media + len(MEDIA_OBJECT))
    if start < 0:
        return None
    start += len(PAYLOAD_FIELD)
    end = text.find('"', start)
    if end < 0:
        return None
    try:
        return binascii.a2b_base64(text[start:end], strict_mode=True)
    except binascii.Error:
        return None
