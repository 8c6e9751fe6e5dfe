"""Messages (texts sent) and Verify (codes texted, then checked)."""

import math
import secrets
from typing import Any

from aiohttp import web

from devtools.localtwilio.errors import TwilioError, invalid, not_found
from devtools.localtwilio.rest.params import API, account_of, json_created, page, param
from devtools.localtwilio.state import (
    E164,
    MAX_CHECK_ATTEMPTS,
    MAX_SEND_ATTEMPTS,
    Message,
    Verification,
    iso8601,
    new_sid,
    now,
    rfc2822,
)

VERIFY_CHANNELS = {"sms", "call"}


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
    twilio = account_of(request)
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
    message = account_of(request).store.messages.get(request.match_info["sid"])
    if message is None:
        raise not_found(request.path)
    return web.json_response(message_json(message))


async def list_messages(request: web.Request) -> web.Response:
    messages = sorted(account_of(request).store.messages.values(), key=lambda m: m.date_created, reverse=True)
    to = param(request, "To")
    return page(request, "messages", [message_json(m) for m in messages if not to or m.to == to])


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
    if service != account_of(request).verify_service_sid:
        raise not_found(request.path)
    return service


async def start_verification(request: web.Request) -> web.Response:
    """Sends a code to `To`; within ten minutes a new request resends the same code, up to five times."""
    twilio = account_of(request)
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
    twilio = account_of(request)
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
    twilio = account_of(request)
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
    app.router.add_post(f"{API}/Messages.json", create_message)
    app.router.add_get(f"{API}/Messages.json", list_messages)
    app.router.add_get(f"{API}/Messages/{{sid}}.json", fetch_message)
    app.router.add_post("/v2/Services/{service}/Verifications", start_verification)
    app.router.add_route("*", "/v2/Services/{service}/Verifications/{sid}", verification)
    app.router.add_post("/v2/Services/{service}/VerificationCheck", check_verification)
