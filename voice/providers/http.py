"""One aiohttp client session per process and event loop, shared by every call.

Sessions hold the connection pool, so creating one per call (or per request) would
throw away keep-alive connections and TLS handshakes. A session is bound to the loop
it was made on; a new loop (a test, a management command) gets its own. Beside it, what
the websocket providers share: reading a socket's messages and closing it.
"""

import asyncio
import json
import logging

import aiohttp

from .base import ProviderError

logger = logging.getLogger(__name__)

SEND_ERRORS = (aiohttp.ClientError, ConnectionError, RuntimeError)  # what writing to a closed socket raises


async def socket_close(socket: aiohttp.ClientWebSocketResponse, *, goodbye: str, provider: str) -> None:
    """Sends the provider's closing message while the socket is open, then closes it."""
    try:
        if not socket.closed:
            await socket.send_str(goodbye)
    except SEND_ERRORS:
        logger.debug("%s socket already gone at close", provider)
    await socket.close()


def socket_message(text: str, *, provider: str) -> dict:
    """A provider's websocket text frame as a JSON object; anything else is the provider failing."""
    try:
        message = json.loads(text)
    except ValueError as error:
        raise ProviderError(f"{provider} sent a message that is not JSON") from error
    if not isinstance(message, dict):
        raise ProviderError(f"{provider} sent an unexpected message")
    return message


class SharedSession:
    def __init__(self, *, timeout_seconds: float = 30.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, sock_connect=5)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # No cap on connections: every live call holds its recogniser and speech websockets
            # open for the whole call, and aiohttp's default of 100 would stall call 51.
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=aiohttp.TCPConnector(limit=0))
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None
