"""The project's ASGI application under uvicorn, as in production (HTTP and websockets), for
tests that need real sockets: live calls and the browser tests.

One server per test process, started on first use in a daemon thread with its own event
loop, on 127.0.0.1 and a free port. It shares the test process's settings, database,
channel layer and Celery configuration (eager), so a test's `settings` overrides (SITE_URL,
provider URLs and keys) reach it at once. It reads and writes through its own database
connections, so tests using it need `transactional_db`; use it through the `asgi_server`
fixture (tests/conftest.py), which lets the server finish its work before the database is
flushed.
"""

import asyncio
import threading
import time

import uvicorn
from asgiref.sync import SyncToAsync
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from callmeback.dbthreads import database_threads

START_TIMEOUT_SECONDS = 30
IDLE_TIMEOUT_SECONDS = 10


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

    def running_tasks(self) -> frozenset:
        """The connection tasks running now (one per request or websocket being served)."""
        return frozenset(self._server.server_state.tasks)

    def task_names(self) -> list[str]:
        """The qualified names of the coroutines of every task on the server's event loop now:
        a task a websocket left behind shows here."""

        async def names() -> list[str]:
            return [getattr(task.get_coro(), "__qualname__", repr(task)) for task in asyncio.all_tasks()]

        loop = self._server.servers[0].get_loop()
        return asyncio.run_coroutine_threadsafe(names(), loop).result(timeout=IDLE_TIMEOUT_SECONDS)

    def wait_until_idle(
        self, *, already_running: frozenset = frozenset(), timeout: float = IDLE_TIMEOUT_SECONDS
    ) -> None:
        """Returns once no request or websocket is being served (other than `already_running`,
        tasks a test found when it began) and no database work the app handed to a thread is
        left, so nothing of the test's is still being written; raises after `timeout`.

        A client's last message or hang-up returns before the server has acted on it: a live
        call's consumer stores its last turns and ends the call after its stream closes. A
        database flushed under that work deadlocks or loses it. Idle keep-alive connections
        (a browser's, the local Twilio's) carry no work and are not waited for: the server
        would keep them open for seconds.
        """
        deadline = time.monotonic() + timeout
        while busy := self._busy(already_running):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test server is still busy after {timeout:g} s: {busy}")
            time.sleep(0.02)
        # Database work from async code runs on asgiref's one shared thread, in order, and goes
        # on even when the task awaiting it was cancelled: once a no-op queued behind it has
        # run, it is done. The live calls' runs on the database threads, which say when idle.
        SyncToAsync.single_thread_executor.submit(lambda: None).result(timeout=max(0.0, deadline - time.monotonic()))
        while not database_threads().idle():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test server's database threads are still busy after {timeout:g} s")
            time.sleep(0.02)

    def _busy(self, already_running: frozenset) -> str:
        """What the server is still doing: its new connection tasks and its open websockets
        (named by their paths), or "" when nothing."""
        state = self._server.server_state
        websocket = self._server.config.ws_protocol_class
        tasks = len(self.running_tasks() - already_running)
        sockets = [c.scope["path"] for c in list(state.connections) if isinstance(c, websocket) and hasattr(c, "scope")]
        if not tasks and not sockets:
            return ""
        return f"{tasks} running connection task(s), open websocket(s): {sockets or 'none'}"
