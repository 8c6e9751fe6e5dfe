"""The one base for the tests' loopback servers: an aiohttp app on 127.0.0.1 and a free
port, served from its own event loop in a background thread, so the code under test talks
to it over a real socket from any loop (a test's `asyncio.run`, the ASGI server, a
benchmark) and a test drives it from its own thread (`run`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, ClassVar, Self

from aiohttp import web


class LoopbackServer:
    """Subclasses give `routes()` (or a whole `make_app()`); `start()` returns once the
    server listens, `stop()` (or leaving a `with` block) shuts it down."""

    name = "fake"
    # A client hanging up cancels its handler, as on a real server. The stand-ins that keep
    # state across requests (localstripe, the local Twilio) finish what they started instead.
    cancels_handlers = True

    _shared: ClassVar[dict[type, LoopbackServer]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.name, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @classmethod
    def shared(cls) -> Self:
        """One server of this kind per test process, started on first use, never stopped:
        for stand-ins that are slow to start or keep module-global state."""
        with LoopbackServer._shared_lock:
            if cls not in LoopbackServer._shared:
                LoopbackServer._shared[cls] = cls().start()
            return LoopbackServer._shared[cls]

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def make_app(self) -> web.Application:
        app = web.Application()
        app.add_routes(self.routes())
        return app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        self.run(self._serve())
        return self

    def stop(self) -> None:
        """Shuts the server down; stopping it again does nothing."""
        if not self._thread.is_alive():
            return
        if self._runner is not None:
            self.run(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        """Runs a coroutine on the server's loop from another thread and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _serve(self) -> None:
        self._runner = web.AppRunner(
            self.make_app(), access_log=None, handler_cancellation=self.cancels_handlers, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
