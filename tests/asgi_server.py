"""The project's real ASGI application under daphne, for tests that need websockets.

One server per test process, in a background thread, on 127.0.0.1 and a free port (Twisted's
reactor runs once per process). It shares the test process's settings, database and channel
layer, so a test's `settings` overrides (SITE_URL, Twilio credentials, provider URLs) reach
it at once. Tests using it need `transactional_db`: the server reads through its own
connections and must see what the test committed.
"""

import threading

from django.conf import settings


class AsgiServer:
    _shared: "AsgiServer | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.url = ""
        self._ready = threading.Event()
        self._server = None

    @classmethod
    def shared(cls) -> "AsgiServer":
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
                cls._shared._start()
            return cls._shared

    def _start(self) -> None:
        # daphne.server installs Twisted's asyncio reactor when imported: import it first.
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        from callmeback.asgi import application

        self._server = Server(
            application=application,
            endpoints=build_endpoint_description_strings(host="127.0.0.1", port=0),
            signal_handlers=False,
            ready_callable=None,
        )
        threading.Thread(target=self._server.run, name="daphne", daemon=True).start()
        self._wait_listening()

    def _wait_listening(self) -> None:
        for _ in range(200):
            if self._server.listening_addresses:
                host, port = self._server.listening_addresses[0]
                self.url = f"http://{host}:{port}"
                return
            self._ready.wait(0.05)
        raise RuntimeError("daphne did not start listening")

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def serve_as_site(self, django_settings=settings) -> None:
        """Make this server the public SITE_URL, the URL Twilio signs and calls back."""
        django_settings.SITE_URL = self.url
