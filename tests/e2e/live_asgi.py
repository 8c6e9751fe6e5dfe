"""The app served by daphne, as in production (HTTP and websockets), for browser tests.

pytest-django's `live_server` speaks WSGI only, so pages that open a websocket need this.
Daphne runs Twisted's reactor, which starts once per process: one server per test session,
in a background thread of the test process. It shares that process's settings (each test's
overrides apply at once), its Celery configuration (eager) and its test database.
"""

import threading
import time

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

START_TIMEOUT_SECONDS = 30


class AsgiLiveServer:
    _shared: "AsgiLiveServer | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.url = ""
        self._server = None

    @classmethod
    def shared(cls) -> "AsgiLiveServer":
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
                cls._shared._start()
            return cls._shared

    def _start(self) -> None:
        from channels.routing import get_default_application
        from daphne.server import Server

        self._server = Server(
            application=ASGIStaticFilesHandler(get_default_application()),
            endpoints=["tcp:port=0:interface=127.0.0.1"],
            signal_handlers=False,
            verbosity=0,
        )
        threading.Thread(target=self._server.run, name="daphne", daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.listening_addresses:
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not start listening")
            time.sleep(0.05)
        host, port = self._server.listening_addresses[0]
        self.url = f"http://{host}:{port}"
