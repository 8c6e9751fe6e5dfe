"""A loopback Stripe in front of localstripe, for what localstripe cannot do.

It answers `POST /v1/checkout/sessions` itself (localstripe has no Checkout), plays
scripted answers (declines localstripe cannot produce, outages), loses answers (the request
reaches localstripe, which acts, and the client gets an error instead of its answer),
records every request with its idempotency key, and forwards everything else to
localstripe unchanged.
"""

import asyncio
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from .loopback import LoopbackServer


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    form: dict[str, str]
    idempotency_key: str | None


@dataclass
class _Loss:
    times: int
    before_answering: Callable[[], None] | None


@dataclass
class _Script:
    method: str
    path: str
    status: int
    body: dict[str, Any]
    times: int


class StripeFront(LoopbackServer):
    """In front of localstripe at `upstream`."""

    name = "stripe-front"
    cancels_handlers = False

    def __init__(self, *, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.requests: list[RecordedRequest] = []
        self._scripts: deque[_Script] = deque()
        self._probes: dict[tuple[str, str], Callable[[], None]] = {}
        self._losses: dict[tuple[str, str], _Loss] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{path:.*}", self._handle)]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._scripts.clear()
            self._probes.clear()
            self._losses.clear()

    def probe(self, method: str, path: str, check: Callable[[], None]) -> None:
        """Runs `check` (in a thread of its own) while a matching request is in flight,
        before it is answered: what the app holds during a Stripe call can be inspected."""
        with self._lock:
            self._probes[(method, path)] = check

    def lose_answer(
        self, method: str, path: str, *, times: int = 1, before_answering: Callable[[], None] | None = None
    ) -> None:
        """Forwards the next `times` matching requests to localstripe, so Stripe does what
        was asked, then runs `before_answering` (in a thread of its own: it may block until
        the test has killed the client) and answers 500 instead, with no retry: to the
        client it looks like a connection lost after Stripe acted."""
        with self._lock:
            self._losses[(method, path)] = _Loss(times, before_answering)

    def script(self, method: str, path: str, *, status: int, body: dict[str, Any], times: int = 1) -> None:
        """Answers the next `times` matching requests with `status` and `body`, telling the SDK
        not to retry on its own (`Stripe-Should-Retry: false`, as Stripe does)."""
        with self._lock:
            self._scripts.append(_Script(method, path, status, body, times))

    def script_error(self, method: str, path: str, *, status: int, error: dict[str, Any], times: int = 1) -> None:
        """Answers with a Stripe error object, e.g. `{"type": "card_error", "code": "card_declined"}`."""
        self.script(method, path, status=status, body={"error": error}, times=times)

    def sent(self, method: str, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def _take_script(self, method: str, path: str) -> _Script | None:
        with self._lock:
            for script in self._scripts:
                if script.method == method and script.path == path:
                    script.times -= 1
                    if script.times == 0:
                        self._scripts.remove(script)
                    return script
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        form = dict(parse_qsl(body.decode(), keep_blank_values=True)) if request.method == "POST" else {}
        with self._lock:
            self.requests.append(
                RecordedRequest(request.method, request.path, form, request.headers.get("Idempotency-Key"))
            )
        with self._lock:
            check = self._probes.get((request.method, request.path))
        if check is not None:
            await asyncio.to_thread(check)
        script = self._take_script(request.method, request.path)
        if script is not None:
            return web.json_response(script.body, status=script.status, headers={"Stripe-Should-Retry": "false"})
        if request.method == "POST" and request.path == "/v1/checkout/sessions":
            return web.json_response(self._checkout_session(form))
        loss = self._take_loss(request.method, request.path)
        answer = await self._forward(request, body)
        if loss is None:
            return answer
        if loss.before_answering is not None:
            await asyncio.to_thread(loss.before_answering)
        error = {"error": {"type": "api_error", "message": "The answer was lost."}}
        return web.json_response(error, status=500, headers={"Stripe-Should-Retry": "false"})

    def _take_loss(self, method: str, path: str) -> _Loss | None:
        with self._lock:
            loss = self._losses.get((method, path))
            if loss is None:
                return None
            loss.times -= 1
            if loss.times == 0:
                del self._losses[(method, path)]
            return loss

    @staticmethod
    def _checkout_session(form: dict[str, str]) -> dict[str, Any]:
        session_id = f"cs_test_{secrets.token_hex(12)}"
        return {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "customer": form.get("customer"),
            "client_reference_id": form.get("client_reference_id"),
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "status": "open",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        }

    async def _forward(self, request: web.Request, body: bytes) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(request.method, f"{self.upstream}{request.path_qs}", data=body, headers=headers) as answer,
        ):
            return web.Response(
                body=await answer.read(), status=answer.status, content_type=answer.content_type or "application/json"
            )
