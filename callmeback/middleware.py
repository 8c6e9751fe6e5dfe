"""Request-wide plumbing that runs before and after every view."""

from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from callmeback.errors import error_response, payload_too_large_message

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestBodyReadLimitMiddleware:
    """ASGI wrapper that reads no more of a request body than `MAX_REQUEST_BODY_BYTES`, and
    gives a body sent with no `Content-Length` (chunked) the length it had.

    Django and DRF read a request with no `Content-Length` as empty, so a chunked JSON
    body was parsed as `{}`; and Django spools a whole body, whatever its size, before any
    middleware sees it. Here a declared length over the limit is not read at all, and a
    chunked body is read at most one chunk past the limit, then handed to Django with its
    count as `Content-Length`. A body past the limit is not passed on: Django sees the
    length (declared, or read so far) and an empty body, so `RequestSizeLimitMiddleware`
    answers 413 in the envelope, with CORS and the other middleware around it, before any
    view runs. The server discards the rest of the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None:
            if declared > settings.MAX_REQUEST_BODY_BYTES:
                receive = _replay(b"", receive)
            await self.app(scope, receive, send)
            return
        read = await _read_body_up_to_limit(receive)
        if read is None:
            return  # the client went away before its body was in
        body, length = read
        if length:
            scope = {**scope, "headers": [*scope.get("headers", []), (b"content-length", str(length).encode())]}
        await self.app(scope, _replay(body, receive), send)


def _declared_length(scope: Scope) -> int | None:
    """The request's `Content-Length`; None when it has none (or one Django will refuse)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _read_body_up_to_limit(receive: Receive) -> tuple[bytes, int] | None:
    """The body and its length; `(b"", bytes read)` once they pass the limit; None if the
    client disconnected."""
    parts: list[bytes] = []
    length = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        part = message.get("body", b"")
        length += len(part)
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return b"", length
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts), length


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields `body` as the whole request, then only the disconnect: body
    the client still sends is dropped, as Django expects nothing after the body."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message

    return replayed


class RequestSizeLimitMiddleware:
    """Refuses bodies over `MAX_REQUEST_BODY_BYTES` before anything reads them; under ASGI a
    chunked body's length is the one `RequestBodyReadLimitMiddleware` counted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response("VALIDATION_ERROR", "Invalid Content-Length header.", 400)
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return error_response("PAYLOAD_TOO_LARGE", payload_too_large_message(), 413)
        return self.get_response(request)


class RateLimitHeadersMiddleware:
    """Adds `X-RateLimit-*` to responses of rate-limited endpoints."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = getattr(request, "ratelimit", None)
        if state is not None:
            for header, value in state.headers().items():
                response[header] = value
        return response
