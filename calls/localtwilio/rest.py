"""The REST API, as the `twilio` SDK calls it: Calls, Messages, Recordings, phone numbers
(2010-04-01 API) and Verify (v2). Strict like Twilio: every request authenticated, required
parameters checked, refusals answered with Twilio's error codes."""

import base64
import binascii
import io
import math
import re
import secrets
import struct
import wave
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiMapping

from calls.localtwilio.errors import TwilioError, error_response, invalid, not_found
from calls.localtwilio.state import (
    E164,
    MAX_CHECK_ATTEMPTS,
    MAX_SEND_ATTEMPTS,
    Call,
    Message,
    Verification,
    iso8601,
    new_sid,
    now,
    rfc2822,
)

if TYPE_CHECKING:
    from calls.localtwilio.server import LocalTwilio

API = "/2010-04-01/Accounts/{account}"
URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
CALL_EVENTS = {"initiated", "ringing", "answered", "completed"}
MAX_TIME_LIMIT = 86400
VERIFY_CHANNELS = {"sms", "call"}
# Fictional ranges handed out by the number search: 555-01xx in North America, Ofcom's drama range in the UK.
NUMBER_RANGES = {"US": ("+1{area}55501{n:02d}", "415", 100), "CA": ("+1{area}55501{n:02d}", "604", 100)}
NUMBER_RANGES["GB"] = ("+447700900{n:03d}", "", 1000)
MAX_RECORDING_SECONDS = 3600

PARAMS = web.RequestKey("params", dict)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def twilio_of(request: web.Request) -> "LocalTwilio":
    from calls.localtwilio.server import TWILIO

    return request.app[TWILIO]


def flatten(values: MultiMapping[str]) -> dict[str, str | list[str]]:
    """Form or query parameters as a dict; a key sent more than once keeps all its values."""
    flat: dict[str, str | list[str]] = {}
    for key in values:
        if key not in flat:
            every = values.getall(key)
            flat[key] = every[0] if len(every) == 1 else list(every)
    return flat


def is_rest(path: str) -> bool:
    return path.startswith(("/2010-04-01/", "/v2/"))


@web.middleware
async def rest_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Records each REST request, plays scripted failures, checks auth, and turns refusals
    (and unknown paths) into Twilio's error body."""
    if not is_rest(request.path):
        return await handler(request)
    twilio = twilio_of(request)
    form = await request.post() if request.method in ("POST", "PUT") else {}
    params = flatten(request.query) | (flatten(form) if form else {})
    request[PARAMS] = params
    failure = twilio.record_request(request.method, request.path, params)
    if failure is not None:
        return error_response(failure.status, failure.code, failure.message)
    if not twilio.authenticated(request.headers.get("Authorization", "")):
        return error_response(401, 20003, "Authenticate")
    account = request.match_info.get("account")
    try:
        if account is not None and account != twilio.account_sid:
            raise not_found(request.path)
        return await handler(request)
    except TwilioError as refusal:
        return refusal.response()
    except web.HTTPNotFound:
        return not_found(request.path).response()
    except web.HTTPMethodNotAllowed:
        return error_response(405, 20004, "Method not allowed")


def basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


def param(request: web.Request, name: str, default: str = "") -> str:
    value = request[PARAMS].get(name, default)
    return value[-1] if isinstance(value, list) else value


def param_list(request: web.Request, name: str) -> list[str]:
    value = request[PARAMS].get(name, [])
    return value if isinstance(value, list) else [value]


def boolean(request: web.Request, name: str, default: bool = False) -> bool:
    value = param(request, name).lower()
    if value in ("", "unset"):
        return default
    if value not in ("true", "false"):
        raise invalid(20001, f"{name} must be true or false")
    return value == "true"


def choice(request: web.Request, name: str, allowed: set[str], default: str) -> str:
    value = param(request, name) or default
    if value not in allowed:
        raise invalid(20001, f"{name} must be one of {', '.join(sorted(allowed))}")
    return value


def url_param(request: web.Request, name: str, *, required: bool = False) -> str:
    value = param(request, name)
    if required and not value:
        raise invalid(21205, f"{name} parameter is required")
    if value and not URL.match(value):
        raise invalid(21205, f"{name} is not a valid URL: {value}")
    return value


def json_created(body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=201)


# --- Calls -------------------------------------------------------------------------------


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


def page(request: web.Request, key: str, records: list[dict[str, Any]]) -> web.Response:
    """A single page holding every match (the SDK follows `next_page_uri`, which stays null)."""
    raw_size = param(request, "PageSize") or "50"
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= 1000:
        raise invalid(20001, "PageSize must be a whole number from 1 to 1000")
    size = int(raw_size)
    uri = request.path
    return web.json_response(
        {
            key: records[:size],
            "end": max(min(len(records), size) - 1, 0),
            "first_page_uri": f"{uri}?PageSize={size}&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": f"{uri}?PageSize={size}&Page=0",
        }
    )


async def create_call(request: web.Request) -> web.Response:
    twilio = twilio_of(request)
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
    twilio.call_created(call)
    return json_created(call_json(call))


def find_call(request: web.Request) -> Call:
    call = twilio_of(request).store.calls.get(request.match_info["sid"])
    if call is None:
        raise not_found(request.path)
    return call


async def fetch_call(request: web.Request) -> web.Response:
    return web.json_response(call_json(find_call(request)))


async def list_calls(request: web.Request) -> web.Response:
    filters = {"to": param(request, "To"), "from_": param(request, "From"), "status": param(request, "Status")}
    with twilio_of(request).store.lock:
        calls = sorted(twilio_of(request).store.calls.values(), key=lambda call: call.date_created, reverse=True)
    matching = [call for call in calls if all(not v or getattr(call, k) == v for k, v in filters.items())]
    return page(request, "calls", [call_json(call) for call in matching])


async def update_call(request: web.Request) -> web.Response:
    """Hang-up (`Status=completed|canceled`) or redirect (`Twiml`/`Url`), as Twilio allows."""
    twilio = twilio_of(request)
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
            twilio.call_hangup_requested(call, status)
        elif twiml or url:
            call.redirect = (url, choice(request, "Method", {"GET", "POST"}, "POST"), twiml)
            twilio.call_redirected(call)
    return web.json_response(call_json(call))


# --- Messages ----------------------------------------------------------------------------


def message_json(message: Message) -> dict[str, Any]:
    uri = f"/2010-04-01/Accounts/{message.account_sid}/Messages/{message.sid}"
    return {
        "account_sid": message.account_sid,
        "api_version": "2010-04-01",
        "body": message.body,
        "date_created": rfc2822(message.date_created),
        "date_sent": None,
        "date_updated": rfc2822(message.date_created),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": "0",
        "num_segments": str(max(1, math.ceil(len(message.body) / 160))),
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": message.to,
        "uri": f"{uri}.json",
    }


async def create_message(request: web.Request) -> web.Response:
    twilio = twilio_of(request)
    to, from_, body = param(request, "To"), param(request, "From"), param(request, "Body")
    service = param(request, "MessagingServiceSid")
    if not to:
        raise invalid(21604, "A 'To' phone number is required.")
    if not from_ and not service:
        raise invalid(21603, "A 'From' phone number is required.")
    if not body:
        raise invalid(21602, "Message body is required.")
    if not E164.match(to):
        raise invalid(21211, f"Invalid 'To' Phone Number: {to}")
    if from_ and not twilio.store.owns(from_):
        raise invalid(
            21606, f"The From phone number {from_} is not a valid, SMS-capable inbound phone number for your account."
        )
    message = Message(
        sid=new_sid("SM"),
        account_sid=twilio.account_sid,
        to=to,
        from_=from_,
        body=body,
        messaging_service_sid=service or None,
    )
    with twilio.store.lock:
        twilio.store.messages[message.sid] = message
    twilio.text_delivered(to, body)
    return json_created(message_json(message))


async def fetch_message(request: web.Request) -> web.Response:
    message = twilio_of(request).store.messages.get(request.match_info["sid"])
    if message is None:
        raise not_found(request.path)
    return web.json_response(message_json(message))


async def list_messages(request: web.Request) -> web.Response:
    messages = sorted(twilio_of(request).store.messages.values(), key=lambda m: m.date_created, reverse=True)
    to = param(request, "To")
    return page(request, "messages", [message_json(m) for m in messages if not to or m.to == to])


# --- Recordings --------------------------------------------------------------------------


def recording_json(twilio: "LocalTwilio", sid: str) -> dict[str, Any]:
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
    twilio = twilio_of(request)
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


# --- Phone numbers -----------------------------------------------------------------------


def available_numbers(twilio: "LocalTwilio", country: str, area_code: str, contains: str) -> list[str]:
    if country not in NUMBER_RANGES:
        return []
    pattern, default_area, count = NUMBER_RANGES[country]
    if area_code and (not area_code.isdigit() or len(area_code) != 3 or not default_area):
        return []
    numbers = (pattern.format(area=area_code or default_area, n=n) for n in range(count))
    digits = re.sub(r"\D", "", contains)
    return [number for number in numbers if digits in number and not twilio.store.owns(number)]


async def search_numbers(request: web.Request) -> web.Response:
    twilio = twilio_of(request)
    country = request.match_info["country"]
    numbers = available_numbers(twilio, country, param(request, "AreaCode"), param(request, "Contains"))
    records = [
        {
            "address_requirements": "none",
            "beta": False,
            "capabilities": {"voice": True, "SMS": True, "MMS": True, "fax": False},
            "friendly_name": number,
            "iso_country": country,
            "lata": None,
            "latitude": None,
            "locality": "Local",
            "longitude": None,
            "phone_number": number,
            "postal_code": None,
            "rate_center": None,
            "region": None,
        }
        for number in numbers
    ]
    return page(request, "available_phone_numbers", records)


def number_json(twilio: "LocalTwilio", sid: str) -> dict[str, Any]:
    number = twilio.store.numbers[sid]
    return {
        "account_sid": number.account_sid,
        "api_version": "2010-04-01",
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "date_created": rfc2822(number.date_created),
        "date_updated": rfc2822(number.date_created),
        "friendly_name": number.friendly_name,
        "origin": "twilio",
        "phone_number": number.phone_number,
        "sid": sid,
        "status": "in-use",
        "uri": f"/2010-04-01/Accounts/{number.account_sid}/IncomingPhoneNumbers/{sid}.json",
        "voice_url": "",
        "sms_url": "",
    }


async def buy_number(request: web.Request) -> web.Response:
    twilio = twilio_of(request)
    number, area_code = param(request, "PhoneNumber"), param(request, "AreaCode")
    if not number and not area_code:
        raise invalid(21421, "PhoneNumber or AreaCode is required")
    if not number:
        offered = available_numbers(twilio, "US", area_code, "")
        if not offered:
            raise invalid(21452, f"No phone numbers found in area code {area_code}")
        number = offered[0]
    if not E164.match(number):
        raise invalid(21421, f"PhoneNumber is invalid: {number}")
    if twilio.store.owns(number):
        raise invalid(21422, "PhoneNumber requested is not available")
    bought = twilio.store.own_number(twilio.account_sid, number, param(request, "FriendlyName"))
    twilio.numbers_changed()
    return json_created(number_json(twilio, bought.sid))


async def list_numbers(request: web.Request) -> web.Response:
    twilio = twilio_of(request)
    wanted = param(request, "PhoneNumber")
    records = [
        number_json(twilio, sid)
        for sid, number in list(twilio.store.numbers.items())
        if not wanted or number.phone_number == wanted
    ]
    return page(request, "incoming_phone_numbers", records)


async def number(request: web.Request) -> web.Response:
    twilio = twilio_of(request)
    sid = request.match_info["sid"]
    if sid not in twilio.store.numbers:
        raise not_found(request.path)
    if request.method not in ("GET", "DELETE"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "DELETE"])
    if request.method == "DELETE":
        with twilio.store.lock:
            del twilio.store.numbers[sid]
        twilio.numbers_changed()
        return web.Response(status=204)
    return web.json_response(number_json(twilio, sid))


# --- Verify ------------------------------------------------------------------------------


def verification_json(verification: Verification) -> dict[str, Any]:
    return {
        "account_sid": verification.account_sid,
        "amount": None,
        "channel": verification.channel,
        "date_created": iso8601(verification.date_created),
        "date_updated": iso8601(verification.date_updated),
        "lookup": {"carrier": None},
        "payee": None,
        "send_code_attempts": [
            {"attempt_sid": f"VL{index:032x}", "channel": verification.channel, "time": iso8601(moment)}
            for index, moment in enumerate(verification.send_attempts)
        ],
        "service_sid": verification.service_sid,
        "sid": verification.sid,
        "sna": None,
        "status": verification.status,
        "to": verification.to,
        "url": f"https://verify.twilio.com/v2/Services/{verification.service_sid}/Verifications/{verification.sid}",
        "valid": verification.status == "approved",
    }


def verify_service(request: web.Request) -> str:
    service = request.match_info["service"]
    if service != twilio_of(request).verify_service_sid:
        raise not_found(request.path)
    return service


async def start_verification(request: web.Request) -> web.Response:
    """Sends a code to `To`; within ten minutes a new request resends the same code, up to five times."""
    twilio = twilio_of(request)
    service = verify_service(request)
    to, channel = param(request, "To"), param(request, "Channel")
    if not to:
        raise invalid(60200, "Invalid parameter: To")
    if channel not in VERIFY_CHANNELS:
        raise invalid(60200, "Invalid parameter: Channel")
    if not E164.match(to):
        raise invalid(60200, f"Invalid parameter `To`: {to}")
    with twilio.store.lock:
        verification = twilio.store.pending_verification(service, to)
        if verification is None:
            verification = Verification(
                sid=new_sid("VE"),
                service_sid=service,
                account_sid=twilio.account_sid,
                to=to,
                channel=channel,
                code=f"{secrets.randbelow(10**6):06d}",
            )
            twilio.store.verifications[verification.sid] = verification
        if len(verification.send_attempts) >= MAX_SEND_ATTEMPTS:
            raise TwilioError(429, 60203, "Max send attempts reached")
        verification.send_attempts.append(now())
        verification.date_updated = now()
    twilio.text_delivered(to, f"Your {twilio.verify_friendly_name} verification code is: {verification.code}")
    return json_created(verification_json(verification))


async def check_verification(request: web.Request) -> web.Response:
    """A wrong code leaves it pending; the fifth wrong one locks it (60202); an approved,
    expired or unknown verification is gone (404)."""
    twilio = twilio_of(request)
    service = verify_service(request)
    to, sid, code = param(request, "To"), param(request, "VerificationSid"), param(request, "Code")
    if not to and not sid:
        raise invalid(60200, "Invalid parameter: To")
    if not code:
        raise invalid(60200, "Invalid parameter: Code")
    with twilio.store.lock:
        if sid:
            found = twilio.store.verifications.get(sid)
            verification = twilio.store.pending_verification(service, found.to) if found else None
            verification = verification if verification and verification.sid == sid else None
        else:
            verification = twilio.store.pending_verification(service, to)
        if verification is None:
            raise not_found(request.path)
        if verification.check_attempts >= MAX_CHECK_ATTEMPTS:
            raise TwilioError(429, 60202, "Max check attempts reached")
        verification.check_attempts += 1
        if secrets.compare_digest(code, verification.code):
            verification.status = "approved"
        verification.date_updated = now()
    body = verification_json(verification)
    for not_in_check in ("lookup", "send_code_attempts", "sna", "url"):
        body.pop(not_in_check)
    return web.json_response(body)


async def verification(request: web.Request) -> web.Response:
    """Fetch, or update `Status=approved|canceled` (what Verify lets you do by hand)."""
    twilio = twilio_of(request)
    service = verify_service(request)
    if request.method not in ("GET", "POST"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
    found = twilio.store.verifications.get(request.match_info["sid"])
    if found is None or found.service_sid != service or found.status != "pending" or found.expired:
        raise not_found(request.path)
    if request.method == "POST":
        status = param(request, "Status")
        if status not in ("approved", "canceled"):
            raise invalid(60200, "Invalid parameter: Status")
        with twilio.store.lock:
            found.status = status
            found.date_updated = now()
    return web.json_response(verification_json(found))


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{API}/Calls.json", create_call)
    app.router.add_get(f"{API}/Calls.json", list_calls)
    app.router.add_get(f"{API}/Calls/{{sid}}.json", fetch_call)
    app.router.add_post(f"{API}/Calls/{{sid}}.json", update_call)
    app.router.add_post(f"{API}/Messages.json", create_message)
    app.router.add_get(f"{API}/Messages.json", list_messages)
    app.router.add_get(f"{API}/Messages/{{sid}}.json", fetch_message)
    app.router.add_route("*", f"{API}/Recordings/{{name}}", recording)
    app.router.add_get(f"{API}/AvailablePhoneNumbers/{{country}}/{{kind}}.json", search_numbers)
    app.router.add_post(f"{API}/IncomingPhoneNumbers.json", buy_number)
    app.router.add_get(f"{API}/IncomingPhoneNumbers.json", list_numbers)
    app.router.add_route("*", f"{API}/IncomingPhoneNumbers/{{sid}}.json", number)
    app.router.add_post("/v2/Services/{service}/Verifications", start_verification)
    app.router.add_route("*", "/v2/Services/{service}/Verifications/{sid}", verification)
    app.router.add_post("/v2/Services/{service}/VerificationCheck", check_verification)
