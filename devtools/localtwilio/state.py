"""What the local Twilio holds: calls, verifications, messages, recordings and numbers.

Everything lives in memory. The server's event loop and a test's thread both read and
write it, so changes go through `Store.lock`.
"""

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
TERMINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
# What Twilio charges per started minute of an outbound call to a mobile, and per SMS.
CALL_PRICE_PER_MINUTE = "0.0140"
VERIFICATION_TTL = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 5
MAX_CHECK_ATTEMPTS = 5


def now() -> datetime:
    return datetime.now(UTC)


def new_sid(prefix: str) -> str:
    """Twilio's format: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime | None) -> str | None:
    """The 2010-04-01 API's dates: `Mon, 23 Nov 2026 09:30:00 +0000`."""
    return format_datetime(moment) if moment else None


def iso8601(moment: datetime | None) -> str | None:
    """The v2 APIs' dates: `2026-11-23T09:30:00Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def last4(number: str) -> str:
    """How a phone number may appear in logs."""
    return f"…{number[-4:]}"


@dataclass
class Call:
    """One outbound call. `params` is the create request as sent (repeated keys as lists)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    params: dict[str, str | list[str]]
    url: str = ""
    method: str = "POST"
    twiml: str = ""
    status_callback: str = ""
    status_callback_method: str = "POST"
    status_callback_events: list[str] = field(default_factory=list)
    time_limit: int = 14400
    timeout: int = 60
    record: bool = False
    recording_channels: str = "mono"
    recording_status_callback: str = ""
    recording_status_callback_method: str = "POST"
    machine_detection: str = ""
    status: str = "queued"
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    price: str | None = None
    next_sequence: int = 0
    # What the callee heard: the text of every <Say>, in order (the phone page shows it).
    said: list[str] = field(default_factory=list)
    stream_url: str = ""  # the <Connect><Stream> the call is on, if any
    # Set by a hang-up request (REST update); the call's runner acts on it.
    hangup_requested: str = ""
    redirect: tuple[str, str, str] | None = None  # (url, method, twiml) from a REST update

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_CALL_STATUSES

    def answer(self, moment: datetime | None = None) -> None:
        self.status = "in-progress"
        self.start_time = moment or now()
        self.date_updated = self.start_time

    def finish(self, status: str, *, duration: int | None = None, moment: datetime | None = None) -> None:
        """Ends the call; `duration` defaults to the seconds since it was answered (0 if never)."""
        self.end_time = moment or now()
        if duration is None:
            duration = int((self.end_time - self.start_time).total_seconds()) if self.start_time else 0
        if self.start_time is None and duration:
            self.start_time = self.end_time - timedelta(seconds=duration)
        self.status = status
        self.duration = duration
        minutes = -(-duration // 60)
        self.price = f"-{float(CALL_PRICE_PER_MINUTE) * minutes:.5f}" if minutes else None
        self.date_updated = self.end_time

    def take_sequence(self) -> int:
        sequence = self.next_sequence
        self.next_sequence += 1
        return sequence


@dataclass
class Verification:
    sid: str
    service_sid: str
    account_sid: str
    to: str
    channel: str
    code: str
    status: str = "pending"
    send_attempts: list[datetime] = field(default_factory=list)
    check_attempts: int = 0
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)

    @property
    def expired(self) -> bool:
        return now() >= self.date_created + VERIFICATION_TTL


@dataclass
class Message:
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    messaging_service_sid: str | None = None
    status: str = "queued"
    date_created: datetime = field(default_factory=now)


@dataclass
class Recording:
    sid: str
    account_sid: str
    call_sid: str
    duration: int
    channels: int
    status: str = "completed"
    date_created: datetime = field(default_factory=now)
    start_time: datetime = field(default_factory=now)


@dataclass
class PhoneNumber:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    date_created: datetime = field(default_factory=now)


class Store:
    """All the local Twilio's records, keyed by SID."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.calls: dict[str, Call] = {}
        self.verifications: dict[str, Verification] = {}
        self.messages: dict[str, Message] = {}
        self.recordings: dict[str, Recording] = {}
        self.numbers: dict[str, PhoneNumber] = {}

    def clear(self) -> None:
        with self.lock:
            for records in (self.calls, self.verifications, self.messages, self.recordings, self.numbers):
                records.clear()

    def own_number(self, account_sid: str, phone_number: str, friendly_name: str = "") -> PhoneNumber:
        """Adds a number to the account (what buying one does); owning it twice is a no-op."""
        with self.lock:
            for number in self.numbers.values():
                if number.phone_number == phone_number:
                    return number
            number = PhoneNumber(
                sid=new_sid("PN"),
                account_sid=account_sid,
                phone_number=phone_number,
                friendly_name=friendly_name or phone_number,
            )
            self.numbers[number.sid] = number
            return number

    def owns(self, phone_number: str) -> bool:
        with self.lock:
            return any(number.phone_number == phone_number for number in self.numbers.values())

    def pending_verification(self, service_sid: str, to: str) -> Verification | None:
        """The verification for `to` a check would act on; an expired one is marked so and dropped."""
        with self.lock:
            for verification in self.verifications.values():
                if verification.service_sid != service_sid or verification.to != to:
                    continue
                if verification.status != "pending":
                    continue
                if verification.expired:
                    verification.status = "expired"
                    continue
                return verification
            return None
