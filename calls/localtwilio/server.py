"""The local Twilio as one object: its credentials, its records, the REST API and (with
`autopilot`) the calls it plays out like Twilio would. `manage.py run_localtwilio` serves
it; the test suite runs it in a thread (tests/fakes/twilio.py)."""

import base64
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from calls.localtwilio import (
    LOCAL_ACCOUNT_SID,
    LOCAL_AUTH_TOKEN,
    LOCAL_CALLER_ID,
    LOCAL_VERIFY_SERVICE_SID,
    LOCALTWILIO_HOST,
)
from calls.localtwilio.rest import add_routes, basic_auth, rest_middleware
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
    """One Twilio account with one Verify service and one number, `caller_id`."""

    def __init__(
        self,
        *,
        account_sid: str = LOCAL_ACCOUNT_SID,
        auth_token: str = LOCAL_AUTH_TOKEN,
        verify_service_sid: str = LOCAL_VERIFY_SERVICE_SID,
        caller_id: str = LOCAL_CALLER_ID,
        autopilot: bool = True,
        log: Callable[[str], None] = print,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.verify_service_sid = verify_service_sid
        self.verify_friendly_name = "Call Me Back"
        self.caller_id = caller_id
        self.autopilot = autopilot
        self.log = log
        self.url = ""  # where it listens, once bound
        self.store = Store()
        self.requests: list[RecordedRequest] = []
        self.failures: list[ScriptedFailure] = []
        self.store.own_number(account_sid, caller_id, "Local caller ID")

    def reset(self) -> None:
        """Forgets every record, request and scripted failure; keeps the caller ID number."""
        with self.store.lock:
            self.store.clear()
            self.requests.clear()
            self.failures.clear()
            self.store.own_number(self.account_sid, self.caller_id, "Local caller ID")

    def app(self) -> web.Application:
        app = web.Application(middlewares=[rest_middleware])
        app[TWILIO] = self
        add_routes(app)
        return app

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
        credentials = basic_auth(header)
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

    def call_hangup_requested(self, call: Call, status: str) -> None:
        """A REST hang-up: a call not yet answered is canceled, an answered one completed."""
        with self.store.lock:
            call.finish("completed" if call.status == "in-progress" else "canceled")

    def call_redirected(self, call: Call) -> None:
        """A REST redirect (new Twiml or Url); kept on the call for its runner."""

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

    def text_delivered(self, to: str, body: str) -> None:
        self.log(f"SMS to {last4(to)}: {body}")


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0 picks a free one), accepting connections at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOCALTWILIO_HOST, port))
    sock.listen(128)
    return sock
