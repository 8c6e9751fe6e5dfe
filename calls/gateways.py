"""Calls' Twilio resources: dialling, reading and ending calls, recordings, and the numbers
of the caller-ID pool, on the shared client of `callmeback.twilio`.

Functions are named `twilio_<resource>_<action>`, so they never read like the services acting
on our own records (`call_create` makes the row; `twilio_call_create` dials). They return
plain typed data; Twilio refusing or unreachable is `TwilioServiceError` (500 TWILIO_ERROR).
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from callmeback.twilio import MediaStream, TwilioRequestRejected, client, media_stream, twilio_request

logger = logging.getLogger(__name__)

# The progress we ask Twilio to report; "answered" arrives as CallStatus=in-progress.
STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
RECORDING_CALLBACK_EVENTS = ["completed", "absent"]
# Twilio's code for updating a call that has already ended.
CALL_NOT_IN_PROGRESS = 21220

# Twilio's CallStatus, in the order a call goes through them; terminal ones share the last rank.
_STATUS_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3}
TERMINAL_RANK = 4
ANSWERED_RANK = _STATUS_RANK["in-progress"]
TERMINAL_STATUSES = ("completed", "busy", "no-answer", "canceled", "failed")


def call_status_rank(twilio_status: str) -> int:
    """How far along a call with this CallStatus is (-1: not a status Twilio reports)."""
    return _STATUS_RANK.get(twilio_status, TERMINAL_RANK if twilio_status in TERMINAL_STATUSES else -1)


@dataclass(frozen=True)
class CallData:
    sid: str
    status: str
    duration: int | None
    start_time: datetime | None
    end_time: datetime | None
    price: Decimal | None
    price_unit: str
    date_created: datetime | None = None


def parse_price(value: object) -> Decimal | None:
    """Twilio's Price ("-0.0265", negative: what we paid) as a positive amount, or None."""
    if value in (None, ""):
        return None
    try:
        return abs(Decimal(str(value)))
    except InvalidOperation:
        return None


def _int_or_none(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _call_data(instance: Any) -> CallData:
    return CallData(
        sid=instance.sid,
        status=instance.status or "",
        duration=_int_or_none(instance.duration),
        start_time=instance.start_time,
        end_time=instance.end_time,
        price=parse_price(instance.price),
        price_unit=instance.price_unit or "",
        date_created=instance.date_created,
    )


# --- Calls --------------------------------------------------------------------------------


def twilio_call_create(
    *,
    to: str,
    from_: str,
    answer_url: str,
    status_callback: str,
    time_limit: int,
    recording_status_callback: str | None = None,
) -> CallData:
    """Dials `to`. With `recording_status_callback`, Twilio records both channels."""
    options: dict = {}
    if recording_status_callback:
        options = {
            "record": True,
            "recording_channels": "dual",
            "recording_status_callback": recording_status_callback,
            "recording_status_callback_method": "POST",
            "recording_status_callback_event": RECORDING_CALLBACK_EVENTS,
        }
    instance = twilio_request(
        "place the call",
        lambda: client().calls.create(
            to=to,
            from_=from_,
            url=answer_url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=STATUS_CALLBACK_EVENTS,
            time_limit=time_limit,
            **options,
        ),
    )
    return _call_data(instance)


def twilio_call_fetch(*, sid: str) -> CallData:
    """The call as Twilio has it now (the sweeper's question about a call it never reported on)."""
    return _call_data(twilio_request("read the call", lambda: client().calls(sid).fetch()))


def twilio_calls_find(*, to: str, from_: str, created_since: datetime, limit: int = 20) -> list[CallData]:
    """Twilio's calls from `from_` to `to` created since `created_since`, oldest first (Twilio's
    own date filter is by day and answer time, so the time is checked here)."""
    listed = twilio_request("list calls", lambda: client().calls.list(to=to, from_=from_, limit=limit))
    found = [_call_data(one) for one in listed if one.date_created and one.date_created >= created_since]
    return sorted(found, key=lambda call: call.date_created)


def twilio_call_end(*, sid: str, ringing: bool) -> CallData:
    """Ends a call: `canceled` before it is answered, `completed` once it is."""
    status = "canceled" if ringing else "completed"
    return _call_data(twilio_request("end the call", lambda: client().calls(sid).update(status=status)))


# --- Recordings ---------------------------------------------------------------------------


def twilio_recording_delete(*, sid: str) -> None:
    """Deletes a recording at Twilio; one already gone counts as deleted."""
    try:
        twilio_request("delete the recording", lambda: client().recordings(sid).delete())
    except TwilioRequestRejected as error:
        if not error.is_missing:
            raise


async def twilio_recording_audio(*, sid: str) -> MediaStream:
    """The recording's audio (WAV, both channels), passed on as Twilio sends it."""
    url = f"https://api.twilio.com/2010-04-01/Accounts/{client().account_sid}/Recordings/{sid}.wav"
    return await media_stream(url, action="fetch the recording")


# --- Phone numbers (the admin's caller-ID pool) ---------------------------------------------


@dataclass(frozen=True)
class NumberData:
    phone_number: str
    friendly_name: str
    sid: str = ""  # set once the number is ours


def twilio_numbers_available(
    *, country: str, area_code: str = "", contains: str = "", limit: int = 20
) -> list[NumberData]:
    """Local numbers Twilio offers for sale in `country` (ISO code), optionally in an area code."""
    filters = {key: value for key, value in (("area_code", area_code), ("contains", contains)) if value}
    offered = twilio_request(
        "search for phone numbers",
        lambda: client().available_phone_numbers(country).local.list(limit=limit, **filters),
    )
    return [NumberData(phone_number=n.phone_number, friendly_name=n.friendly_name or "") for n in offered]


def twilio_number_buy(*, phone_number: str, friendly_name: str = "") -> NumberData:
    """Buys `phone_number` for the account (it is billed monthly by Twilio from then on)."""
    kwargs = {"phone_number": phone_number} | ({"friendly_name": friendly_name} if friendly_name else {})
    bought = twilio_request("buy the phone number", lambda: client().incoming_phone_numbers.create(**kwargs))
    return NumberData(phone_number=bought.phone_number, friendly_name=bought.friendly_name or "", sid=bought.sid)
