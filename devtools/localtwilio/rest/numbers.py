"""Phone numbers: searching the available ones, buying, listing and releasing them."""

import re
from typing import Any

from aiohttp import web

from devtools.localtwilio.account import TwilioAccount
from devtools.localtwilio.errors import invalid, not_found
from devtools.localtwilio.rest.params import API, account_of, json_created, page, param
from devtools.localtwilio.state import E164, rfc2822

# Fictional ranges handed out by the number search: 555-01xx in North America, Ofcom's drama range in the UK.
NUMBER_RANGES = {"US": ("+1{area}55501{n:02d}", "415", 100), "CA": ("+1{area}55501{n:02d}", "604", 100)}
NUMBER_RANGES["GB"] = ("+447700900{n:03d}", "", 1000)


def available_numbers(twilio: TwilioAccount, country: str, area_code: str, contains: str) -> list[str]:
    if country not in NUMBER_RANGES:
        return []
    pattern, default_area, count = NUMBER_RANGES[country]
    if area_code and (not area_code.isdigit() or len(area_code) != 3 or not default_area):
        return []
    numbers = (pattern.format(area=area_code or default_area, n=n) for n in range(count))
    digits = re.sub(r"\D", "", contains)
    return [number for number in numbers if digits in number and not twilio.store.owns(number)]


async def search_numbers(request: web.Request) -> web.Response:
    twilio = account_of(request)
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


def number_json(twilio: TwilioAccount, sid: str) -> dict[str, Any]:
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
    twilio = account_of(request)
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
    twilio = account_of(request)
    wanted = param(request, "PhoneNumber")
    records = [
        number_json(twilio, sid)
        for sid, number in list(twilio.store.numbers.items())
        if not wanted or number.phone_number == wanted
    ]
    return page(request, "incoming_phone_numbers", records)


async def number(request: web.Request) -> web.Response:
    twilio = account_of(request)
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


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API}/AvailablePhoneNumbers/{{country}}/{{kind}}.json", search_numbers)
    app.router.add_post(f"{API}/IncomingPhoneNumbers.json", buy_number)
    app.router.add_get(f"{API}/IncomingPhoneNumbers.json", list_numbers)
    app.router.add_route("*", f"{API}/IncomingPhoneNumbers/{{sid}}.json", number)
