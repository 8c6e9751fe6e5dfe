"""One aiohttp client session per process and event loop, shared by every call.

Sessions hold the connection pool, so creating one per call (or per request) would
throw away keep-alive connections and TLS handshakes. A session is bound to the loop
it was made on; a new loop (a test, a management command) gets its own.
"""

import asyncio

import aiohttp


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
