"""localstripe, a local stand-in for Stripe's API and Stripe.js, bound to 127.0.0.1 only.

Out of the box localstripe listens on every interface and pickles its whole store to
`/tmp/localstripe.pickle`, shared by everyone on the machine. Here it listens on the
loopback interface and keeps its data in a file we choose (or only in memory).
"""

import os
import pickle
import socket
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from localstripe.resources import store
from localstripe.webhooks import register_webhook

from billing.conf import LOCALSTRIPE_HOST

with warnings.catch_warnings():
    # localstripe registers plain functions as aiohttp handlers, which aiohttp deprecates.
    warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
    from localstripe.server import app

__all__ = ["app", "bind", "serve", "use_data_file"]


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


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0 picks a free one). It queues connections
    from the moment it is returned, so clients may connect before the server loop runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOCALSTRIPE_HOST, port))
    sock.listen(128)
    return sock


def serve(*, sock: socket.socket, webhook_url: str = "", webhook_secret: str = "") -> None:
    """Runs localstripe until interrupted; with a webhook secret it delivers its events to
    `webhook_url`, signed like Stripe's."""
    if webhook_url and webhook_secret:
        register_webhook("callmeback", webhook_url, webhook_secret, None)
    web.run_app(app, sock=sock, print=None, access_log=None)
