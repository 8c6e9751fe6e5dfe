"""What every REST handler shares: the request's parameters (form and query, read once by
the middleware), the checks Twilio applies to them, and its list and create answers."""

import re
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from devtools.localtwilio.account import ACCOUNT, TwilioAccount
from devtools.localtwilio.errors import invalid
from devtools.localtwilio.lifecycle import SWITCHBOARD, Switchboard

API = "/2010-04-01/Accounts/{account}"
URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)

PARAMS = web.RequestKey("params", dict)


def account_of(request: web.Request) -> TwilioAccount:
    return request.app[ACCOUNT]


def switchboard_of(request: web.Request) -> Switchboard:
    return request.app[SWITCHBOARD]


def flatten(values: MultiMapping[str]) -> dict[str, str | list[str]]:
    """Form or query parameters as a dict; a key sent more than once keeps all its values."""
    flat: dict[str, str | list[str]] = {}
    for key in values:
        if key not in flat:
            every = values.getall(key)
            flat[key] = every[0] if len(every) == 1 else list(every)
    return flat


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
