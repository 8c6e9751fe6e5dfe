"""The local Twilio's account: its credentials, where it listens, its records and the REST
requests it got. Everything else (the REST API, the phone page, the calls it plays out)
acts on this one object, which imports none of them.
"""

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from callmeback.stand_ins import (
    LOCALTWILIO_ACCOUNT_SID,
    LOCALTWILIO_AUTH_TOKEN,
    LOCALTWILIO_CALLER_ID,
    LOCALTWILIO_VERIFY_SERVICE_SID,
)
from devtools.localtwilio.journal import CallJournal
from devtools.localtwilio.media import MediaStreamBridge
from devtools.localtwilio.state import Call, Recording, Store, last4, new_sid


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


class TwilioAccount:
    """One Twilio account with one Verify service and one number, `caller_id`.

    With `autopilot` each call is played out like Twilio does (lifecycle.Switchboard) and
    rings the phone page; without it calls stay as the REST API left them (for tests,
    which move them on themselves)."""

    def __init__(
        self,
        *,
        account_sid: str = LOCALTWILIO_ACCOUNT_SID,
        auth_token: str = LOCALTWILIO_AUTH_TOKEN,
        verify_service_sid: str = LOCALTWILIO_VERIFY_SERVICE_SID,
        caller_id: str = LOCALTWILIO_CALLER_ID,
        autopilot: bool = True,
        auto_answer: bool = False,
        media_bridge: MediaStreamBridge | None = None,
        numbers_file: Path | None = None,
        calls_file: Path | None = None,
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
        self._session: aiohttp.ClientSession | None = None
        self.store.own_number(account_sid, caller_id, "Local caller ID")
        self.numbers_file = numbers_file
        if numbers_file is not None and numbers_file.exists():
            for number in json.loads(numbers_file.read_text()):
                self.store.own_number(account_sid, number["phone_number"], number["friendly_name"])
        self.journal = CallJournal(calls_file, self.store) if calls_file is not None else None
        if self.journal is not None:
            self.journal.load()

    def forget_records(self) -> None:
        """Forgets every record, request and scripted failure; keeps the caller ID number."""
        with self.store.lock:
            self.store.clear()
            self.requests.clear()
            self.failures.clear()
            self.store.own_number(self.account_sid, self.caller_id, "Local caller ID")

    def session(self) -> aiohttp.ClientSession:
        """The HTTP client for requests to the app (callbacks, TwiML), on the server's loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close_session(self, app: web.Application) -> None:
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

    # --- What the REST API and played-out calls leave behind --------------------------------

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

    def calls_changed(self) -> None:
        """Keeps the calls between runs, when there is a calls file."""
        if self.journal is not None:
            self.journal.save()

    def text_delivered(self, to: str, body: str) -> None:
        self.log(f"SMS to {last4(to)}: {body}")


def basic_auth(header: str) -> tuple[str, str] | None:
    """The username and password of an `Authorization: Basic` header, or None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


ACCOUNT = web.AppKey("localtwilio-account", TwilioAccount)
