"""The project's ASGI application under uvicorn, as in production (HTTP and websockets), for
tests that need real sockets: live calls and the browser tests.

One server per test process, started on first use in a daemon thread with its own event
loop, on 127.0.0.1 and a free port. It shares the test process's settings, database,
channel layer and Celery configuration (eager), so a test's `settings` overrides (SITE_URL,
provider URLs and keys) reach it at once. It reads and writes through its own database
connections, so tests using it need `transactional_db`; use it through the `asgi_server`
fixture (tests/conftest.py).
"""

import threading
import time

import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

START_TIMEOUT_SECONDS = 30


class AsgiServer:
    _shared: "AsgiServer | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        from callmeback.asgi import application

        config = uvicorn.Config(
            # Static files straight from the apps' folders, as `runserver` serves them.
            ASGIStaticFilesHandler(application),
            host="127.0.0.1",
            port=0,
            log_config=None,  # the test process's logging stays as pytest and Django set it
            access_log=False,
            proxy_headers=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self.url = ""

    @classmethod
    def shared(cls) -> "AsgiServer":
        with cls._lock:
            if cls._shared is None:
                server = cls()
                server._start()
                cls._shared = server
            return cls._shared

    def _start(self) -> None:
        thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start listening")
            time.sleep(0.02)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")
