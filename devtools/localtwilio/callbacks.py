"""The requests Twilio makes to us: status callbacks, recording-status callbacks and the
answer-URL fetch, with their parameters and `X-Twilio-Signature` exactly as Twilio sends them.
"""

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import aiohttp
import requests
from twilio.request_validator import RequestValidator

from devtools.localtwilio.state import TERMINAL_CALL_STATUSES, Call, Recording, now, rfc2822

API_VERSION = "2010-04-01"
USER_AGENT = "TwilioProxy/1.1"
TIMEOUT_SECONDS = 15
# The StatusCallbackEvent name under which Twilio reports each CallStatus.
EVENT_FOR_STATUS = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"} | {
    status: "completed" for status in TERMINAL_CALL_STATUSES
}


@dataclass(frozen=True)
class SignedCallback:
    """One request from Twilio to the app. `url` is the full URL signed (with the query
    string for GET); `params` go in the form body for POST."""

    url: str
    method: str
    params: dict[str, str]
    signature: str
    idempotency_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {
            "X-Twilio-Signature": self.signature,
            "I-Twilio-Idempotency-Token": self.idempotency_token,
            "User-Agent": USER_AGENT,
        }

    @property
    def path(self) -> str:
        """Path and query string, for posting it through a test client instead of the network."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def post_blocking(self) -> requests.Response:
        """Sends it from the calling thread and waits for the app's answer."""
        if self.method == "GET":
            return requests.get(self.url, headers=self.headers, timeout=TIMEOUT_SECONDS)
        return requests.post(self.url, data=self.params, headers=self.headers, timeout=TIMEOUT_SECONDS)

    async def post(self, session: aiohttp.ClientSession) -> tuple[int, str]:
        """Sends it from the server's event loop; returns the app's status and body."""
        kwargs = {} if self.method == "GET" else {"data": self.params}
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        async with session.request(self.method, self.url, headers=self.headers, timeout=timeout, **kwargs) as answer:
            return answer.status, await answer.text()


def sign(*, url: str, method: str, params: dict[str, str], auth_token: str) -> SignedCallback:
    """Signs as Twilio does: GET requests carry the parameters in the signed URL, POST
    requests sign the URL as given plus the sorted form parameters."""
    if method == "GET":
        url = f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params)}"
        signature = RequestValidator(auth_token).compute_signature(url, {})
    else:
        signature = RequestValidator(auth_token).compute_signature(url, params)
    return SignedCallback(
        url=url, method=method, params=params, signature=signature, idempotency_token=secrets.token_hex(16)
    )


def call_params(call: Call, status: str) -> dict[str, str]:
    """What every request about a call carries (answer URL and status callbacks alike)."""
    return {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.sid,
        "CallStatus": status,
        "Called": call.to,
        "Caller": call.from_,
        "Direction": "outbound-api",
        "From": call.from_,
        "To": call.to,
    }


def subscribed(call: Call, status: str) -> bool:
    """Twilio posts only the events asked for; `completed` is the default."""
    events = call.status_callback_events or ["completed"]
    return bool(call.status_callback) and EVENT_FOR_STATUS.get(status) in events


def status_callback(call: Call, status: str, *, auth_token: str, extra: dict[str, str] | None = None) -> SignedCallback:
    """The status callback for `status`, taking the call's next SequenceNumber."""
    params = call_params(call, status) | {
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(call.take_sequence()),
        "Timestamp": rfc2822(now()),
    }
    if status == "completed":
        seconds = call.duration or 0
        params |= {"CallDuration": str(seconds), "Duration": str(-(-seconds // 60))}
    params |= extra or {}
    return sign(url=call.status_callback, method=call.status_callback_method, params=params, auth_token=auth_token)


def answer_request(call: Call, *, url: str, method: str, auth_token: str) -> SignedCallback:
    """The request for the TwiML to run when the call is answered (or redirected)."""
    return sign(url=url, method=method, params=call_params(call, "in-progress"), auth_token=auth_token)


def recording_callback(call: Call, recording: Recording, *, media_url: str, auth_token: str) -> SignedCallback:
    params = {
        "AccountSid": call.account_sid,
        "CallSid": call.sid,
        "RecordingSid": recording.sid,
        "RecordingUrl": media_url,
        "RecordingStatus": recording.status,
        "RecordingDuration": str(recording.duration),
        "RecordingChannels": str(recording.channels),
        "RecordingStartTime": rfc2822(recording.start_time),
        "RecordingSource": "OutboundAPI",
        "RecordingTrack": "both",
        "ErrorCode": "0",
    }
    return sign(
        url=call.recording_status_callback,
        method=call.recording_status_callback_method,
        params=params,
        auth_token=auth_token,
    )
