"""The only code that talks to Twilio: calls, Verify, recordings and webhook signatures.

Everything goes through the real `twilio` SDK. `TWILIO_API_BASE` replaces the scheme and
host of every request the SDK makes (api.twilio.com and verify.twilio.com alike) through
the SDK's own HTTP-client hook, so the local Twilio and the test fakes are reached by the
same code that reaches Twilio. Functions return plain typed data; Twilio refusing or being
unreachable becomes `TwilioServiceError` (500 TWILIO_ERROR), never a stack trace.
"""

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from callmeback.errors import ApplicationError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The progress we ask Twilio to report; "answered" arrives as CallStatus=in-progress.
STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
RECORDING_CALLBACK_EVENTS = ["completed", "absent"]
# Twilio's codes for "that call or recording does not exist (any more)".
_MISSING_CODES = {20404}
# Twilio's code for updating a call that has already ended.
CALL_NOT_IN_PROGRESS = 21220


class TwilioServiceError(ApplicationError):
    """Twilio could not do what we asked; the client sees 500 TWILIO_ERROR."""

    code = "TWILIO_ERROR"
    status_code = 500
    default_message = "The phone service could not complete the request. Please try again."


class TwilioRequestRejected(TwilioServiceError):
    """Twilio answered with an error (bad number, unknown sid, wrong state...)."""

    def __init__(self, message: str | None = None, *, twilio_code: int | None, http_status: int) -> None:
        super().__init__(message)
        self.twilio_code = twilio_code or 0
        self.http_status = http_status

    @property
    def is_missing(self) -> bool:
        return self.http_status == 404 or self.twilio_code in _MISSING_CODES


@dataclass(frozen=True)
class CallData:
    sid: str
    status: str
    duration: int | None
    start_time: datetime | None
    end_time: datetime | None
    price: Decimal | None
    price_unit: str


class BaseUrlHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending every request to `base` instead of Twilio's hosts."""

    def __init__(self, base: str, **kwargs) -> None:
        super().__init__(**kwargs)
        parts = urlsplit(base)
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")

    def rewrite(self, url: str) -> str:
        """Twilio's URL with our scheme and host, keeping its path and query."""
        parts = urlsplit(url)
        return urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment))

    def request(self, method: str, url: str, *args, **kwargs):
        return super().request(method, self.rewrite(url), *args, **kwargs)

    def stream(self, url: str, *, auth: tuple[str, str]) -> requests.Response:
        """A streamed GET on the same session and base (media files, which the SDK cannot read as bytes)."""
        session = self.session or requests.Session()
        return session.get(self.rewrite(url), auth=auth, stream=True, timeout=self.timeout)


@lru_cache(maxsize=4)
def _client(account_sid: str, auth_token: str, api_base: str, timeout: float) -> Client:
    http_client = BaseUrlHttpClient(api_base, timeout=timeout)
    return Client(account_sid, auth_token, http_client=http_client)


def client() -> Client:
    """The SDK client for the current settings (read on every call, so overrides apply)."""
    if not settings.TWILIO_ACCOUNT_SID or not settings.TWILIO_AUTH_TOKEN:
        raise TwilioServiceError("The phone service is not configured.")
    return _client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE,
        settings.TWILIO_TIMEOUT_SECONDS,
    )


def _rest_error(error: TwilioRestException, action: str) -> TwilioRequestRejected:
    logger.warning("Twilio refused to %s: HTTP %s, code %s", action, error.status, error.code)
    message = f"The phone service refused to {action}: {error.msg}" if error.msg else None
    return TwilioRequestRejected(message, twilio_code=error.code, http_status=error.status)


def _call(action: str, operation: Callable[[], T]) -> T:
    """Runs one SDK operation, turning every failure into our errors."""
    try:
        return operation()
    except TwilioRestException as error:
        raise _rest_error(error, action) from None
    except (TwilioException, requests.RequestException) as error:
        logger.warning("Twilio unreachable while trying to %s: %s", action, type(error).__name__)
        raise TwilioServiceError() from None


def parse_price(value: object) -> Decimal | None:
    """Twilio's Price ("-0.0265", negative: what we paid) as a positive amount, or None."""
    if value in (None, ""):
        return None
    try:
        return abs(Decimal(str(value)))
    except InvalidOperation:
        return None


def _int(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _call_data(instance: Any) -> CallData:
    return CallData(
        sid=instance.sid,
        status=instance.status or "",
        duration=_int(instance.duration),
        start_time=instance.start_time,
        end_time=instance.end_time,
        price=parse_price(instance.price),
        price_unit=instance.price_unit or "",
    )


# --- Calls --------------------------------------------------------------------------------


def call_create(
    *,
    to: str,
    from_: str,
    answer_url: str,
    status_callback: str,
    time_limit: int,
    recording_status_callback: str | None = None,
) -> CallData:
    """Dials `to`. With `recording_status_callback`, Twilio records both channels."""
    options: dict = {}
    if recording_status_callback:
        options = {
            "record": True,
            "recording_channels": "dual",
            "recording_status_callback": recording_status_callback,
            "recording_status_callback_method": "POST",
            "recording_status_callback_event": RECORDING_CALLBACK_EVENTS,
        }
    instance = _call(
        "place the call",
        lambda: client().calls.create(
            to=to,
            from_=from_,
            url=answer_url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=STATUS_CALLBACK_EVENTS,
            time_limit=time_limit,
            **options,
        ),
    )
    return _call_data(instance)


def call_fetch(*, sid: str) -> CallData:
    return _call_data(_call("read the call", lambda: client().calls(sid).fetch()))


def call_hang_up(*, sid: str, ringing: bool) -> CallData:
    """Ends a call: `canceled` before it is answered, `completed` once it is."""
    status = "canceled" if ringing else "completed"
    return _call_data(_call("end the call", lambda: client().calls(sid).update(status=status)))


# --- Verify -------------------------------------------------------------------------------


def _verify_service():
    if not settings.TWILIO_VERIFY_SERVICE_SID:
        raise TwilioServiceError("Phone verification is not configured.")
    return client().verify.v2.services(settings.TWILIO_VERIFY_SERVICE_SID)


def verification_start(*, to: str) -> str:
    """Sends a code by SMS; returns the verification's status (`pending`)."""
    return _call(
        "send a verification code", lambda: _verify_service().verifications.create(to=to, channel="sms")
    ).status


def verification_check(*, to: str, code: str) -> bool:
    """Whether `code` is the one sent to `to` (Verify counts the attempts)."""
    check = _call("check the verification code", lambda: _verify_service().verification_checks.create(to=to, code=code))
    return check.status == "approved"


# --- Recordings ---------------------------------------------------------------------------


def recording_delete(*, sid: str) -> None:
    """Deletes a recording at Twilio; one already gone counts as deleted."""
    try:
        _call("delete the recording", lambda: client().recordings(sid).delete())
    except TwilioRequestRejected as error:
        if not error.is_missing:
            raise


@dataclass
class RecordingAudio:
    content_type: str
    content_length: str
    chunks: Iterator[bytes]


def recording_audio(*, sid: str) -> RecordingAudio:
    """The recording's audio (WAV, both channels), streamed from Twilio chunk by chunk."""
    twilio_client = client()
    url = f"https://api.twilio.com/2010-04-01/Accounts/{twilio_client.account_sid}/Recordings/{sid}.wav"
    try:
        response = twilio_client.http_client.stream(url, auth=(twilio_client.username, twilio_client.password))
    except requests.RequestException as error:
        logger.warning("Twilio unreachable while fetching a recording: %s", type(error).__name__)
        raise TwilioServiceError() from None
    if response.status_code != 200:
        response.close()
        raise TwilioRequestRejected(
            "The recording could not be fetched.", twilio_code=None, http_status=response.status_code
        )

    def chunks() -> Iterator[bytes]:
        with response:
            yield from response.iter_content(chunk_size=32 * 1024)

    return RecordingAudio(
        content_type=response.headers.get("Content-Type", "audio/x-wav"),
        content_length=response.headers.get("Content-Length", ""),
        chunks=chunks(),
    )


# --- Webhooks -----------------------------------------------------------------------------


def signature_valid(*, url: str, params: Mapping[str, Any], signature: str | None) -> bool:
    """Whether `X-Twilio-Signature` signs this URL (as Twilio requested it) and these form fields."""
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


# --- Phone numbers (the admin's caller-ID pool) ---------------------------------------------


@dataclass(frozen=True)
class NumberData:
    phone_number: str
    friendly_name: str
    sid: str = ""  # set once the number is ours


def configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def numbers_available(*, country: str, area_code: str = "", contains: str = "", limit: int = 20) -> list[NumberData]:
    """Local numbers Twilio offers for sale in `country` (ISO code), optionally in an area code."""
    filters = {key: value for key, value in (("area_code", area_code), ("contains", contains)) if value}
    offered = _call(
        "search for phone numbers",
        lambda: client().available_phone_numbers(country).local.list(limit=limit, **filters),
    )
    return [NumberData(phone_number=n.phone_number, friendly_name=n.friendly_name or "") for n in offered]


def number_buy(*, phone_number: str, friendly_name: str = "") -> NumberData:
    """Buys `phone_number` for the account (it is billed monthly by Twilio from then on)."""
    kwargs = {"phone_number": phone_number} | ({"friendly_name": friendly_name} if friendly_name else {})
    bought = _call("buy the phone number", lambda: client().incoming_phone_numbers.create(**kwargs))
    return NumberData(phone_number=bought.phone_number, friendly_name=bought.friendly_name or "", sid=bought.sid)
