"""localstripe for the test suite: one server per test process, in a background thread, on
127.0.0.1 and a free port, with its data in memory only.

Tests reach it over real sockets with the real `stripe` SDK. `reset()` empties it between
tests; it goes through localstripe's own HTTP route so the server thread does the work.
"""

from typing import Any

import requests
import stripe
from aiohttp import web

from callmeback.stand_ins import LOCALSTRIPE_PUBLISHABLE_KEY, LOCALSTRIPE_SECRET_KEY
from devtools.localstripe import server as localstripe

from .loopback import LoopbackServer


class LocalStripeServer(LoopbackServer):
    """Use `shared()`: localstripe keeps its data in module globals, so a process can run only one."""

    name = "localstripe"
    cancels_handlers = False

    def make_app(self) -> web.Application:
        localstripe.use_data_file(None)
        return localstripe.app

    def reset(self) -> None:
        requests.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()

    def client(self) -> stripe.StripeClient:
        """An SDK client for test set-up and for checking what localstripe holds."""
        return stripe.StripeClient(LOCALSTRIPE_SECRET_KEY, base_addresses={"api": self.url})

    def authenticate(self, payment_intent_id: str, *, success: bool) -> None:
        """Passes or fails 3-D Secure for an intent, as the customer would in Stripe.js."""
        intent = self.get(f"/v1/payment_intents/{payment_intent_id}")
        requests.post(
            f"{self.url}/v1/payment_intents/{payment_intent_id}/_authenticate",
            data={
                "client_secret": intent["client_secret"],
                "success": str(success).lower(),
                "key": LOCALSTRIPE_PUBLISHABLE_KEY,
            },
            timeout=5,
        ).raise_for_status()

    def get(self, path: str) -> dict[str, Any]:
        """A raw GET, for fields the SDK would not show as localstripe sends them."""
        response = requests.get(f"{self.url}{path}", auth=(LOCALSTRIPE_SECRET_KEY, ""), timeout=5)
        response.raise_for_status()
        return response.json()
