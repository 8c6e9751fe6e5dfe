"""The local Twilio as one object: its credentials, its records, the REST API and (with
`autopilot`) the calls it plays out like Twilio would. `manage.py run_localtwilio` serves
it; the test suite runs it in a thread (tests/fakes/twilio.py)."""

import base64
import json
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from calls.localtwilio import (
    LOCAL_ACCOUNT_SID,
    LOCAL_AUTH_TOKEN,
    LOCAL_CALLER_ID,
    LOCAL_VERIFY_SERVICE_SID,
    LOCALTWILIO_HOST,
    phone,
    rest,
)
from calls.localtwilio.lifecycle import CallRunner
from calls.localtwilio.media import MediaStreamBridge
from calls.localtwilio.state import Call, Recording, Store, last4, new_sid

TWILIO = web.AppKey("localtwilio", object)


@dataclass(frozen=True)
class RecordedRequest:
    """A REST request as received: repeated parameters keep every value, in a list."""

    method: str
    path: str
    params: dict[str, str | list[str]]


@dataclass(frozen=True)
class ScriptedFailure:
    method: str
    path_pattern: str
    status: int
    code: int
    message: str

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.search(self.path_pattern, path) is not None


class LocalTwilio:
    """One Twilio account with one Verify service and one number, `caller_id`.

    With `autopilot` each call is played out like Twilio does (lifecycle.CallRunner) and
    rings the phone page; without it calls stay as the REST API left them (for tests,
    which move them on themselves)."""

    def __init__(
        self,
        *,
        account_sid: str = LOCAL_ACCOUNT_SID,
        auth_token: str = LOCAL_AUTH_TOKEN,
        verify_service_sid: str = LOCAL_VERIFY_SERVICE_SID,
        caller_id: str = LOCAL_CALLER_ID,
        autopilot: bool = True,
        auto_answer: bool = False,
        media_bridge: MediaStreamBridge | None = None,
        numbers_file: Path | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.verify_service_sid = verify_service_sid
        self.verify_friendly_name = "Call Me Back"
        self.caller_id = caller_id
        self.autopilot = autopilot
        self.auto_answer = auto_answer
        self.media_bridge = media_bridge or MediaStreamBridge()
        self.log = log
        self.url = ""  # where it listens, once bound
        self.store = Store()
        self.requests: list[RecordedRequest] = []
        self.failures: list[ScriptedFailure] = []
        self.runners: dict[str, CallRunner] = {}
        self._session: aiohttp.ClientSession | None = None
        self.store.own_number(account_sid, caller_id, "Local caller ID")
        self.numbers_file = numbers_file
        if numbers_file is not None and numbers_file.exists():
            for number in json.loads(numbers_file.read_text()):
                self.store.own_number(account_sid, number["phone_number"], number["friendly_name"])

    def reset(self) -> None:
        """Forgets every record, request and scripted failure; keeps the caller ID number."""
        with self.store.lock:
            self.store.clear()
            self.requests.clear()
            self.failures.clear()
            for runner in self.runners.values():
                runner.stop()
            self.runners.clear()
            self.store.own_number(self.account_sid, self.caller_id, "Local caller ID")

    def app(self) -> web.Application:
        app = web.Application(middlewares=[rest.rest_middleware])
        app[TWILIO] = self
        rest.add_routes(app)
        phone.add_routes(app)
        self.media_bridge.add_routes(app)
        app.on_cleanup.append(self._close_session)
        return app

    def session(self) -> aiohttp.ClientSession:
        """The HTTP client for requests to the app (callbacks, TwiML), on the server's loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _close_session(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    # --- REST plumbing ------------------------------------------------------------------

    def record_request(self, method: str, path: str, params: dict[str, str | list[str]]) -> ScriptedFailure | None:
        """Logs the request and returns the scripted failure it meets, if any (used once)."""
        with self.store.lock:
            self.requests.append(RecordedRequest(method=method, path=path, params=params))
            for failure in self.failures:
                if failure.matches(method, path):
                    self.failures.remove(failure)
                    return failure
        return None

    def authenticated(self, header: str) -> bool:
        credentials = rest.basic_auth(header)
        return credentials is not None and (
            secrets.compare_digest(credentials[0], self.account_sid)
            and secrets.compare_digest(credentials[1], self.auth_token)
        )

    def basic_auth_header(self) -> str:
        token = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return f"Basic {token}"

    def recording_media_url(self, sid: str) -> str:
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"

    # --- What the REST API sets in motion -----------------------------------------------

    def call_created(self, call: Call) -> None:
        self.log(f"Call {call.sid} to {last4(call.to)} queued")
        if self.autopilot:
            self.runners[call.sid] = runner = CallRunner(self, call)
            runner.start()

    def call_hangup_requested(self, call: Call, status: str) -> None:
        """A REST hang-up: a call not yet answered is canceled, an answered one completed
        (`Status=canceled` leaves an answered call alone, as Twilio does).
        A played-out call ends through its runner, which posts the final callback."""
        runner = self.runners.get(call.sid)
        if runner is not None:
            runner.act(status)
            return
        with self.store.lock:
            if call.status != "in-progress":
                call.finish("canceled")
            elif status == "completed":
                call.finish("completed")

    def call_redirected(self, call: Call) -> None:
        """A REST redirect (new Twiml or Url): the runner plays it instead of the current TwiML."""
        runner = self.runners.get(call.sid)
        if runner is not None:
            runner.act("redirect")

    def set_auto_answer(self, on: bool) -> None:
        """Turning it on also picks up the calls ringing now."""
        self.auto_answer = on
        if on:
            for sid, runner in list(self.runners.items()):
                if runner.call.status == "ringing":
                    self.phone_action(sid, "answer")

    def phone_action(self, sid: str, action: str) -> bool:
        """The person answers, declines or hangs up on the phone page; False if that call
        is not ringing (answer, decline) or on the line (hang up) under autopilot."""
        runner = self.runners.get(sid)
        expected = "in-progress" if action == "hangup" else "ringing"
        if runner is None or runner.call.status != expected:
            return False
        runner.act(action)
        return True

    def recording_made(self, call: Call) -> Recording:
        """The recording of a finished call that asked for one (`Record=true`)."""
        if not call.record or not call.finished:
            raise ValueError(f"call {call.sid} is not a finished, recorded call")
        recording = Recording(
            sid=new_sid("RE"),
            account_sid=self.account_sid,
            call_sid=call.sid,
            duration=call.duration or 0,
            channels=2 if call.recording_channels == "dual" else 1,
            start_time=call.start_time or call.end_time,
        )
        with self.store.lock:
            self.store.recordings[recording.sid] = recording
        return recording

    def numbers_changed(self) -> None:
        """Keeps the bought numbers between runs, when there is a numbers file."""
        if self.numbers_file is None:
            return
        with self.store.lock:
            numbers = [
                {"phone_number": n.phone_number, "friendly_name": n.friendly_name} for n in self.store.numbers.values()
            ]
        self.numbers_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.numbers_file.with_suffix(".partial")
        partial.write_text(json.dumps(numbers, indent=1))
        partial.replace(self.numbers_file)

    def text_delivered(self, to: str, body: str) -> None:
        self.log(f"SMS to {last4(to)}: {body}")


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0 picks a free one), accepting connections at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOCALTWILIO_HOST, port))
    sock.listen(128)
    return sock
