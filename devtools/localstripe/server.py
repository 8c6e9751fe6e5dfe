"""localstripe, a local stand-in for Stripe's API and Stripe.js, bound to 127.0.0.1 only.

Out of the box localstripe listens on every interface and pickles its whole store to
`/tmp/localstripe.pickle`, shared by everyone on the machine. Here it listens on the
loopback interface (devtools.loopback) and keeps its data in a file we choose (or only in
memory).

Intents can be listed by customer and creation time, as on Stripe. Two more changes make
it feel like Stripe to a person: its Stripe.js stand-in is replaced
by ours (`localstripe-v3.js`: one tidy card row, spaces and MM / YY accepted, the brand
detected, Stripe's messages), and cards report their real brand instead of always "visa".
"""

import os
import pickle
import socket
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from localstripe.resources import List, PaymentIntent, PaymentMethod, UserError, store
from localstripe.webhooks import register_webhook

with warnings.catch_warnings():
    # localstripe registers plain functions as aiohttp handlers, which aiohttp deprecates.
    warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
    from localstripe.server import app

__all__ = ["app", "card_brand", "serve", "use_data_file"]

STRIPE_JS_PATH = "/js.stripe.com/v3/"
STRIPE_JS_FILE = Path(__file__).with_name("localstripe-v3.js")

# Stripe's `card.brand` values by number prefix (https://docs.stripe.com/api/payment_methods/object).
_BRAND_PREFIXES: list[tuple[str, tuple[range, ...]]] = [
    ("amex", (range(34, 35), range(37, 38))),
    ("diners", (range(300, 306), range(36, 37), range(38, 40))),
    ("jcb", (range(3528, 3590),)),
    ("discover", (range(6011, 6012), range(644, 650), range(65, 66))),
    ("unionpay", (range(62, 63),)),
    ("mastercard", (range(51, 56), range(2221, 2721))),
    ("visa", (range(4, 5),)),
]


def card_brand(number: str) -> str:
    """The brand Stripe reports for a card number, or "unknown"."""
    for brand, prefixes in _BRAND_PREFIXES:
        for prefix in prefixes:
            width = len(str(prefix.start))
            if number[:width].isdigit() and int(number[:width]) in prefix:
                return brand
    return "unknown"


def _with_card_brand(init: Callable[..., None]) -> Callable[..., None]:
    def init_with_brand(self: PaymentMethod, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        if self.type == "card":
            self.card["brand"] = card_brand(self._card_number)

    return init_with_brand


PaymentMethod.__init__ = _with_card_brand(PaymentMethod.__init__)


def _payment_intents_list(cls, url, customer=None, created=None, limit=None, starting_after=None):
    """`GET /v1/payment_intents` with Stripe's `customer` and `created[gte]` filters, which
    localstripe lacks: billing finds a hold whose creation never reported back this way."""
    since = (created or {}).get("gte", 0) if isinstance(created, dict) else created or 0
    try:
        since = int(since)
    except (TypeError, ValueError):
        raise UserError(400, "Bad request") from None
    listed = List(url, limit=limit, starting_after=starting_after)
    listed._list = [
        value
        for key, value in store.items()
        if key.startswith("payment_intent:")
        and (customer is None or value.customer == customer)
        and value.created >= since
    ]
    return listed


PaymentIntent._api_list_all = classmethod(_payment_intents_list)


@web.middleware
async def _our_stripe_js(request: web.Request, handler):
    if request.path == STRIPE_JS_PATH:
        return web.Response(text=STRIPE_JS_FILE.read_text(), content_type="application/javascript")
    return await handler(request)


app.middlewares.insert(0, _our_stripe_js)


def use_data_file(path: Path | None, *, load: bool = True) -> None:
    """Keeps localstripe's data in `path` (written atomically after each change), or only in
    memory when `path` is None. With `load`, data saved by an earlier run is restored."""
    if path is None:
        store.dump_to_disk = lambda: None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if load and path.exists():
        with path.open("rb") as saved:
            data = pickle.load(saved)  # noqa: S301 - our own file, written below by this command
        store.clear()
        store.update(data)
    store.dump_to_disk = _dumper(path)


def _dumper(path: Path) -> Callable[[], None]:
    def dump() -> None:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as partial:
            pickle.dump(dict(store), partial, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial.name, path)

    return dump


def serve(*, sock: socket.socket, webhook_url: str = "", webhook_secret: str = "") -> None:
    """Runs localstripe until interrupted; with a webhook secret it delivers its events to
    `webhook_url`, signed like Stripe's."""
    if webhook_url and webhook_secret:
        register_webhook("callmeback", webhook_url, webhook_secret, None)
    web.run_app(app, sock=sock, print=None, access_log=None)
