"""The local Twilio for the test suite: one server per test process, in a background thread,
on 127.0.0.1 and a free port, driven by the real `twilio` SDK through `TWILIO_API_BASE`.

By default `autopilot` is off: a created call stays `queued` and nothing is posted until the
test says so with `advance()`, which posts the signed status callback as Twilio would.
`deliver` sends it; by default over HTTP to the callback URL (a live server), and a test
may swap it for one that goes through Django's test client (`SignedCallback.path`/`headers`).
"""

import asyncio
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from aiohttp import web
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from devtools.localtwilio.account import RecordedRequest, ScriptedFailure
from devtools.localtwilio.callbacks import SignedCallback, recording_callback, status_callback, subscribed
from devtools.localtwilio.media import MediaStreamBridge
from devtools.localtwilio.phone_audio import PhoneAudioBridge
from devtools.localtwilio.server import LocalTwilio
from devtools.localtwilio.state import TERMINAL_CALL_STATUSES, Call, Message, Recording

from .loopback import LoopbackServer


def wait_until(condition: Callable[[], Any], *, timeout: float = 10, message: str = "condition") -> Any:
    """Polls `condition` until it is truthy (returned) or `timeout` seconds pass (fails)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.02)


class AppStub(LoopbackServer):
    """Stands in for the app on a real socket: records every request Twilio makes to it and
    answers POSTs to `answer_path` with `twiml`, everything else with 204."""

    name = "app-stub"
    answer_path = "/answer"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.twiml = '<Response><Pause length="60"/></Response>'

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/{path:.*}", self._post)]

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.received.append((request.path_qs, dict(request.headers), dict(parse_qsl(body))))
        if request.path.startswith(self.answer_path):
            return web.Response(text=self.twiml, content_type="text/xml")
        return web.Response(status=204)

    def forms(self, path_prefix: str) -> list[dict[str, str]]:
        return [form for path, _, form in list(self.received) if path.startswith(path_prefix)]


def post_over_http(callback: SignedCallback) -> Any:
    return callback.post_blocking()


class RebasedHttpClient(TwilioHttpClient):
    """Sends every SDK request (api. and verify.twilio.com alike) to `base`, path kept."""

    def __init__(self, base: str) -> None:
        super().__init__(timeout=10)
        self.base = urlsplit(base)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        rebased = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, rebased, *args, **kwargs)


class LocalTwilioServer(LoopbackServer):
    """Use `shared()`: one local Twilio per test process, reset between tests."""

    name = "localtwilio"
    cancels_handlers = False

    def __init__(self) -> None:
        super().__init__()
        self.console: list[str] = []
        self.twilio = LocalTwilio(autopilot=False, log=self.console.append)
        self.deliver: Callable[[SignedCallback], Any] = post_over_http
        self.phone_bridge = PhoneAudioBridge(self.twilio)
        self._probes: list[tuple[str, re.Pattern[str], Callable[[], None]]] = []
        self._stalls: list[tuple[str, re.Pattern[str], threading.Event]] = []
        self._probes_lock = threading.Lock()

    def make_app(self) -> web.Application:
        app = self.twilio.app()
        app.middlewares.insert(0, self._run_probe)
        self.phone_bridge.add_routes(app)  # the phone page's audio socket, for `bridge_phone_audio()`
        return app

    def start(self) -> Self:
        super().start()
        self.twilio.url = self.url
        return self

    # --- Set-up ---------------------------------------------------------------------------

    @property
    def account_sid(self) -> str:
        return self.twilio.account_sid

    @property
    def auth_token(self) -> str:
        return self.twilio.auth_token

    @property
    def verify_service_sid(self) -> str:
        return self.twilio.verify_service_sid

    @property
    def caller_id(self) -> str:
        """The number the account owns from the start; calls from any other are refused (21210)."""
        return self.twilio.caller_id

    def configure(self, settings) -> None:
        """Points the app's Twilio settings (REST base, account, token, Verify service, caller
        id) at this server."""
        settings.TWILIO_API_BASE = self.url
        settings.TWILIO_ACCOUNT_SID = self.account_sid
        settings.TWILIO_AUTH_TOKEN = self.auth_token
        settings.TWILIO_VERIFY_SERVICE_SID = self.verify_service_sid
        settings.TWILIO_CALLER_ID = self.caller_id

    @property
    def autopilot(self) -> bool:
        return self.twilio.autopilot

    @autopilot.setter
    def autopilot(self, on: bool) -> None:
        self.twilio.autopilot = on

    def reset(self) -> None:
        """Empties everything, drops calls in play, turns autopilot and auto-answer off and
        restores the media bridge and HTTP delivery."""
        self.twilio.reset()
        self.twilio.autopilot = False
        self.twilio.auto_answer = False
        self.twilio.media_bridge = MediaStreamBridge()
        self.deliver = post_over_http
        self.console.clear()
        with self._probes_lock:
            self._probes.clear()
            for *_, released in self._stalls:
                released.set()
            self._stalls.clear()

    def probe(self, method: str, path_pattern: str, check: Callable[[], None]) -> None:
        """Runs `check` (in a thread of its own) while the next `method` request whose path
        matches `path_pattern` (re.search) is in flight, before it is handled: what the app
        holds during a Twilio request can be inspected from another connection."""
        with self._probes_lock:
            self._probes.append((method, re.compile(path_pattern), check))

    def stall_next(self, method: str, path_pattern: str) -> threading.Event:
        """The next `method` request whose path matches `path_pattern` is handled (a call is
        created) but its answer is held back until the returned event is set (or `reset()`):
        Twilio acting on a request whose answer never reaches the app in time."""
        released = threading.Event()
        with self._probes_lock:
            self._stalls.append((method, re.compile(path_pattern), released))
        return released

    def _take(self, hooks: list, request: web.Request):
        with self._probes_lock:
            matching = next(
                (hook for hook in hooks if hook[0] == request.method and hook[1].search(request.path)), None
            )
            if matching is not None:
                hooks.remove(matching)
        return matching

    @web.middleware
    async def _run_probe(self, request: web.Request, handler) -> web.StreamResponse:
        probe = self._take(self._probes, request)
        if probe is not None:
            await asyncio.to_thread(probe[2])
        stall = self._take(self._stalls, request)
        response = await handler(request)
        if stall is not None:
            await asyncio.to_thread(stall[2].wait, 60)
        return response

    def bridge_phone_audio(self) -> None:
        """Until the next `reset()`, a call's `<Connect><Stream>` opens the media stream to the
        app as Twilio does, carrying what the phone page's microphone hears (silence without
        one) and playing the persona on its speaker, as `run_localtwilio` does."""
        self.twilio.media_bridge = self.phone_bridge

    def client(self) -> Client:
        """An SDK client for test set-up and for checking what the local Twilio holds."""
        return Client(self.account_sid, self.auth_token, http_client=RebasedHttpClient(self.url))

    def own_number(self, phone_number: str) -> None:
        """Adds a number to the account, as buying it would."""
        self.twilio.store.own_number(self.account_sid, phone_number)

    def fail_next(
        self, method: str, path_pattern: str, *, status: int = 500, code: int = 20500, message: str = "Internal Error"
    ) -> None:
        """The next `method` request whose path matches `path_pattern` (re.search) gets this
        Twilio error instead of an answer."""
        failure = ScriptedFailure(method=method, path_pattern=path_pattern, status=status, code=code, message=message)
        with self.twilio.store.lock:
            self.twilio.failures.append(failure)

    # --- What Twilio holds ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.twilio.requests)

    @property
    def calls(self) -> dict[str, Call]:
        return dict(self.twilio.store.calls)

    @property
    def messages(self) -> list[Message]:
        return list(self.twilio.store.messages.values())

    @property
    def recordings(self) -> dict[str, Recording]:
        return dict(self.twilio.store.recordings)

    def verification_code(self, to: str) -> str:
        """The code Verify last sent to `to` and that a check would still accept."""
        verification = self.twilio.store.pending_verification(self.verify_service_sid, to)
        if verification is None:
            raise LookupError(f"no pending verification for …{to[-4:]}")
        return verification.code

    # --- Playing a call -------------------------------------------------------------------

    def advance(self, sid: str, status: str, duration: int | None = None, *, post: bool = True, **extra: str):
        """Moves the call to `status` (a Twilio CallStatus) and, if the call asked for that
        event, posts its signed status callback. `duration` (seconds) is the CallDuration of a
        completed call; by default the time since it was answered. `extra` adds or overrides
        callback parameters. Returns the SignedCallback (None if not subscribed); with
        `post=False` it is only built, so a test can send it later, twice, or out of order."""
        with self.twilio.store.lock:
            call = self.twilio.store.calls[sid]
            if status == "in-progress":
                call.answer()
            elif status in TERMINAL_CALL_STATUSES:
                call.finish(status, duration=duration)
            else:
                call.status = status
            callback = (
                status_callback(call, status, auth_token=self.auth_token, extra=extra)
                if subscribed(call, status)
                else None
            )
        if callback is not None and post:
            self.deliver(callback)
        return callback

    def finish_recording(self, sid: str, *, post: bool = True) -> SignedCallback:
        """Stores the recording of a finished call that asked for one and posts the
        recording-status callback, as Twilio does shortly after the call ends."""
        recording = self.twilio.recording_made(self.twilio.store.calls[sid])
        callback = recording_callback(
            self.twilio.store.calls[sid],
            recording,
            media_url=self.twilio.recording_media_url(recording.sid),
            auth_token=self.auth_token,
        )
        if post:
            self.deliver(callback)
        return callback
