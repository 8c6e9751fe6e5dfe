"""Calls (create, fetch, list, hang up or redirect) and their Recordings."""

import io
import math
import struct
import wave
from typing import Any

from aiohttp import web

from devtools.localtwilio.account import TwilioAccount
from devtools.localtwilio.errors import invalid, not_found
from devtools.localtwilio.rest.params import (
    API,
    PARAMS,
    account_of,
    boolean,
    choice,
    json_created,
    page,
    param,
    param_list,
    switchboard_of,
    url_param,
)
from devtools.localtwilio.state import E164, Call, new_sid, rfc2822

CALL_EVENTS = {"initiated", "ringing", "answered", "completed"}
MAX_TIME_LIMIT = 86400
MAX_RECORDING_SECONDS = 3600


def call_json(call: Call) -> dict[str, Any]:
    uri = f"/2010-04-01/Accounts/{call.account_sid}/Calls/{call.sid}"
    return {
        "account_sid": call.account_sid,
        "annotation": None,
        "answered_by": None,
        "api_version": "2010-04-01",
        "caller_name": None,
        "date_created": rfc2822(call.date_created),
        "date_updated": rfc2822(call.date_updated),
        "direction": "outbound-api",
        "duration": None if call.duration is None else str(call.duration),
        "end_time": rfc2822(call.end_time),
        "forwarded_from": None,
        "from": call.from_,
        "from_formatted": call.from_,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": call.price,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": call.sid,
        "start_time": rfc2822(call.start_time),
        "status": call.status,
        "subresource_uris": {
            "notifications": f"{uri}/Notifications.json",
            "recordings": f"{uri}/Recordings.json",
            "events": f"{uri}/Events.json",
        },
        "to": call.to,
        "to_formatted": call.to,
        "trunk_sid": None,
        "uri": f"{uri}.json",
    }


async def create_call(request: web.Request) -> web.Response:
    twilio = account_of(request)
    to, from_ = param(request, "To"), param(request, "From")
    if not to:
        raise invalid(21201, "No 'To' number is specified")
    if not from_:
        raise invalid(21213, "No 'From' number is specified")
    if not E164.match(to):
        raise invalid(21211, f"Invalid 'To' Phone Number: {to}")
    if not E164.match(from_):
        raise invalid(21212, f"Invalid 'From' Phone Number: {from_}")
    twiml = param(request, "Twiml")
    url = url_param(request, "Url", required=not twiml)
    events = param_list(request, "StatusCallbackEvent")
    unknown_events = set(events) - CALL_EVENTS
    if unknown_events:
        raise invalid(20001, f"StatusCallbackEvent must be among {', '.join(sorted(CALL_EVENTS))}")
    time_limit = param(request, "TimeLimit") or "14400"
    timeout = param(request, "Timeout") or "60"
    if not time_limit.isdigit() or not 0 < int(time_limit) <= MAX_TIME_LIMIT:
        raise invalid(20001, f"TimeLimit must be a whole number of seconds from 1 to {MAX_TIME_LIMIT}")
    if not timeout.isdigit() or not 0 < int(timeout) <= 600:
        raise invalid(20001, "Timeout must be a whole number of seconds from 1 to 600")
    call = Call(
        sid=new_sid("CA"),
        account_sid=twilio.account_sid,
        to=to,
        from_=from_,
        params=dict(request[PARAMS]),
        url=url,
        method=choice(request, "Method", {"GET", "POST"}, "POST"),
        twiml=twiml,
        status_callback=url_param(request, "StatusCallback"),
        status_callback_method=choice(request, "StatusCallbackMethod", {"GET", "POST"}, "POST"),
        status_callback_events=events,
        time_limit=int(time_limit),
        timeout=int(timeout),
        record=boolean(request, "Record"),
        recording_channels=choice(request, "RecordingChannels", {"mono", "dual"}, "mono"),
        recording_status_callback=url_param(request, "RecordingStatusCallback"),
        recording_status_callback_method=choice(request, "RecordingStatusCallbackMethod", {"GET", "POST"}, "POST"),
        machine_detection=param(request, "MachineDetection"),
    )
    if call.machine_detection and call.machine_detection not in ("Enable", "DetectMessageEnd"):
        raise invalid(20001, "MachineDetection must be Enable or DetectMessageEnd")
    if not twilio.store.owns(from_):
        raise invalid(
            21210,
            f"The source phone number provided, {from_}, is not yet verified for your account. You may only "
            "make calls from phone numbers that you've verified or purchased from Twilio.",
        )
    with twilio.store.lock:
        twilio.store.calls[call.sid] = call
    twilio.calls_changed()
    switchboard_of(request).call_created(call)
    return json_created(call_json(call))


def find_call(request: web.Request) -> Call:
    call = account_of(request).store.calls.get(request.match_info["sid"])
    if call is None:
        raise not_found(request.path)
    return call


async def fetch_call(request: web.Request) -> web.Response:
    return web.json_response(call_json(find_call(request)))


async def list_calls(request: web.Request) -> web.Response:
    filters = {"to": param(request, "To"), "from_": param(request, "From"), "status": param(request, "Status")}
    with account_of(request).store.lock:
        calls = sorted(account_of(request).store.calls.values(), key=lambda call: call.date_created, reverse=True)
    matching = [call for call in calls if all(not v or getattr(call, k) == v for k, v in filters.items())]
    return page(request, "calls", [call_json(call) for call in matching])


async def update_call(request: web.Request) -> web.Response:
    """Hang-up (`Status=completed|canceled`) or redirect (`Twiml`/`Url`), as Twilio allows."""
    twilio = account_of(request)
    call = find_call(request)
    status = param(request, "Status")
    if status and status not in ("completed", "canceled"):
        raise invalid(20001, "Status must be completed or canceled")
    twiml = param(request, "Twiml")
    url = url_param(request, "Url")
    with twilio.store.lock:
        if call.finished:
            raise invalid(21220, "Call is not in-progress. Cannot redirect.")
        if status:
            switchboard_of(request).call_hangup_requested(call, status)
        elif twiml or url:
            call.redirect = (url, choice(request, "Method", {"GET", "POST"}, "POST"), twiml)
            switchboard_of(request).call_redirected(call)
    return web.json_response(call_json(call))


# --- Recordings --------------------------------------------------------------------------


def recording_json(twilio: TwilioAccount, sid: str) -> dict[str, Any]:
    recording = twilio.store.recordings[sid]
    uri = f"/2010-04-01/Accounts/{recording.account_sid}/Recordings/{sid}"
    return {
        "account_sid": recording.account_sid,
        "api_version": "2010-04-01",
        "call_sid": recording.call_sid,
        "channels": recording.channels,
        "conference_sid": None,
        "date_created": rfc2822(recording.date_created),
        "date_updated": rfc2822(recording.date_created),
        "duration": str(recording.duration),
        "encryption_details": None,
        "error_code": None,
        "media_url": twilio.recording_media_url(sid),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "source": "OutboundAPI",
        "start_time": rfc2822(recording.start_time),
        "status": recording.status,
        "subresource_uris": {},
        "uri": f"{uri}.json",
    }


async def recording(request: web.Request) -> web.Response:
    """`{sid}.json` is the resource (GET, DELETE); `{sid}` or `{sid}.wav` is the audio."""
    twilio = account_of(request)
    sid, _, extension = request.match_info["name"].partition(".")
    if sid not in twilio.store.recordings or extension not in ("", "json", "wav"):
        raise not_found(request.path)
    if extension == "json":
        if request.method == "DELETE":
            with twilio.store.lock:
                del twilio.store.recordings[sid]
            return web.Response(status=204)
        return web.json_response(recording_json(twilio, sid))
    if request.method != "GET":
        raise web.HTTPMethodNotAllowed(request.method, ["GET"])
    stored = twilio.store.recordings[sid]
    audio = placeholder_audio(seconds=min(stored.duration, MAX_RECORDING_SECONDS), channels=stored.channels)
    return web.Response(body=audio, content_type="audio/x-wav")


def placeholder_audio(*, seconds: int, channels: int) -> bytes:
    """What a local recording sounds like: a short beep, then silence for the call's length."""
    rate = 8000
    beep = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) * channels for i in range(rate // 4)
    )
    silence = bytes(2 * channels * max(rate * seconds - rate // 4, 0))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(channels)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(beep + silence)
    return buffer.getvalue()


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{API}/Calls.json", create_call)
    app.router.add_get(f"{API}/Calls.json", list_calls)
    app.router.add_get(f"{API}/Calls/{{sid}}.json", fetch_call)
    app.router.add_post(f"{API}/Calls/{{sid}}.json", update_call)
    app.router.add_route("*", f"{API}/Recordings/{{name}}", recording)
