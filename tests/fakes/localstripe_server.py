"""localstripe for the test suite: one server per test process, in a background thread, on
127.0.0.1 and a free port, with its data in memory only.

Tests reach it over real sockets with the real `stripe` SDK. `reset()` empties it between
tests; it goes through localstripe's own HTTP route so the server thread does the work.
"""

import asyncio
import threading
from typing import Any

import requests
import stripe
from aiohttp import web

from billing import localstripe
from billing.conf import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY


class LocalStripeServer:
    _shared: "LocalStripeServer | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self.url = ""

    @classmethod
    def shared(cls) -> "LocalStripeServer":
        """localstripe keeps its data in module globals, so a process can run only one."""
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
                cls._shared._start()
            return cls._shared

    def _start(self) -> None:
        localstripe.use_data_file(None)
        thread = threading.Thread(target=self._run, name="localstripe", daemon=True)
        thread.start()
        self._started.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(localstripe.app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.SockSite(runner, localstripe.bind(0))
        self._loop.run_until_complete(site.start())
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._started.set()
        self._loop.run_forever()

    def reset(self) -> None:
        requests.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()

    def client(self) -> stripe.StripeClient:
        """An SDK client for test set-up and for checking what localstripe holds."""
        return stripe.StripeClient(LOCAL_SECRET_KEY, base_addresses={"api": self.url})

    def authenticate(self, payment_intent_id: str, *, success: bool) -> None:
        """Passes or fails 3-D Secure for an intent, as the customer would in Stripe.js."""
        intent = self.get(f"/v1/payment_intents/{payment_intent_id}")
        requests.post(
            f"{self.url}/v1/payment_intents/{payment_intent_id}/_authenticate",
            data={
                "client_secret": intent["client_secret"],
                "success": str(success).lower(),
                "key": LOCAL_PUBLISHABLE_KEY,
            },
            timeout=5,
        ).raise_for_status()

    def get(self, path: str) -> dict[str, Any]:
        """A raw GET, for fields the SDK would not show as localstripe sends them."""
        response = requests.get(f"{self.url}{path}", auth=(LOCAL_SECRET_KEY, ""), timeout=5)
        response.raise_for_status()
        return response.json()
