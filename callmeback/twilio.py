"""The Twilio client every app shares: the SDK client, its errors, Verify, Messaging, webhook
signatures and media files. The calls app's own resources (calls, recordings, caller-ID
numbers) are in `calls.gateways`, on this client.

Everything goes through the real `twilio` SDK, except media files (bytes the SDK cannot
stream), which aiohttp streams on the event loop. `TWILIO_API_BASE` replaces the scheme and
host of every request (api.twilio.com and verify.twilio.com alike) through the SDK's own
HTTP-client hook, so the local Twilio and the test fakes are reached by the same code that
reaches Twilio. Functions return plain typed data; Twilio refusing or being
unreachable becomes `TwilioServiceError` (500 TWILIO_ERROR), never a stack trace.
"""

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from callmeback.errors import ApplicationError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Twilio's codes for "that resource does not exist (any more)".
_MISSING_CODES = {20404}


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


class TwilioOutcomeUnknown(TwilioServiceError):
    """The request may have reached Twilio but its answer never came (a read timeout, a
    dropped connection, Twilio's own 5xx): whether Twilio acted on it is unknown, so a
    caller must not treat it as a refusal."""


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


@lru_cache(maxsize=4)
def _client(account_sid: str, auth_token: str, api_base: str, timeout: float) -> Client:
    http_client = BaseUrlHttpClient(api_base, timeout=timeout)
    return Client(account_sid, auth_token, http_client=http_client)


def configured() -> bool:
    """Whether Twilio credentials are set (the admin offers to buy numbers only then)."""
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def client() -> Client:
    """The SDK client for the current settings (read on every call, so overrides apply)."""
    if not configured():
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


def never_sent(error: requests.RequestException) -> bool:
    """Whether the request failed before a byte of it left (no connection was made), so
    Twilio cannot have acted on it."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, ConnectTimeoutError)


def twilio_request(action: str, operation: Callable[[], T]) -> T:
    """Runs one SDK operation, turning every failure into our errors; `action` says what was
    asked, for the log and the message ("place the call"). A request that may have reached
    Twilio without an answer coming back is `TwilioOutcomeUnknown`."""
    try:
        return operation()
    except TwilioRestException as error:
        raise _rest_error(error, action) from None
    except requests.RequestException as error:
        logger.warning("Twilio unreachable while trying to %s: %s", action, type(error).__name__)
        raise (TwilioServiceError() if never_sent(error) else TwilioOutcomeUnknown()) from None
    except TwilioException as error:
        logger.warning("Twilio unreachable while trying to %s: %s", action, type(error).__name__)
        raise TwilioServiceError() from None


# --- Media files (recordings), which the SDK cannot read as bytes -----------------------------

# Read from Twilio and passed on this many bytes at a time at most: a file of any length
# costs one chunk of memory per listener.
MEDIA_CHUNK_BYTES = 32 * 1024


@dataclass
class MediaStream:
    content_type: str
    content_length: str
    chunks: AsyncIterator[bytes]


async def media_stream(url: str, *, action: str) -> MediaStream:
    """A GET of Twilio's `url` (rebased like every SDK request) with the account's credentials,
    on the event loop. Only the status and headers have been read when this returns, so a
    refusal is still an error the caller can answer with; `chunks` then passes the body on as
    it arrives, and closes the connection when it ends or is closed."""
    twilio_client = client()
    timeout = settings.TWILIO_TIMEOUT_SECONDS
    session = aiohttp.ClientSession(
        headers={"Authorization": aiohttp.encode_basic_auth(twilio_client.username, twilio_client.password)},
        timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout),
    )
    try:
        response = await session.get(twilio_client.http_client.rewrite(url))
    except (aiohttp.ClientError, TimeoutError) as error:
        await session.close()
        logger.warning("Twilio unreachable while trying to %s: %s", action, type(error).__name__)
        raise TwilioServiceError() from None
    except BaseException:  # the listener left while Twilio was answering
        await session.close()
        raise
    if response.status != 200:
        response.release()
        await session.close()
        logger.warning("Twilio refused to %s: HTTP %s", action, response.status)
        message = f"The phone service refused to {action}."
        raise TwilioRequestRejected(message, twilio_code=None, http_status=response.status)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.content.iter_chunked(MEDIA_CHUNK_BYTES):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as error:
            # The status is sent: the listener sees the body end short of its Content-Length.
            logger.warning("Twilio stopped sending while trying to %s: %s", action, type(error).__name__)
        finally:
            response.close()
            await session.close()

    return MediaStream(
        content_type=response.headers.get("Content-Type", "audio/x-wav"),
        content_length=response.headers.get("Content-Length", ""),
        chunks=chunks(),
    )


# --- Messaging ----------------------------------------------------------------------------


def message_send(*, to: str, body: str, from_: str) -> str:
    """Texts `body` to `to` through Twilio Messaging; returns the message SID."""
    return twilio_request("send the text message", lambda: client().messages.create(to=to, from_=from_, body=body)).sid


# --- Verify -------------------------------------------------------------------------------


def _verify_service():
    if not settings.TWILIO_VERIFY_SERVICE_SID:
        raise TwilioServiceError("Phone verification is not configured.")
    return client().verify.v2.services(settings.TWILIO_VERIFY_SERVICE_SID)


def verification_start(*, to: str) -> str:
    """Sends a code by SMS; returns the verification's status (`pending`)."""
    return twilio_request(
        "send a verification code", lambda: _verify_service().verifications.create(to=to, channel="sms")
    ).status


def verification_check(*, to: str, code: str) -> bool:
    """Whether `code` is the one sent to `to` (Verify counts the attempts)."""
    check = twilio_request(
        "check the verification code", lambda: _verify_service().verification_checks.create(to=to, code=code)
    )
    return check.status == "approved"


# --- Webhooks -----------------------------------------------------------------------------


def signature_valid(*, url: str, params: Mapping[str, Any], signature: str | None) -> bool:
    """Whether `X-Twilio-Signature` signs this URL (as Twilio requested it) and these form fields."""
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)
