"""The REST API, as the `twilio` SDK calls it: Calls and Recordings, Messages and Verify,
phone numbers (2010-04-01 API and Verify v2). Strict like Twilio: every request
authenticated, required parameters checked, refusals answered with Twilio's error codes."""

from collections.abc import Awaitable, Callable

from aiohttp import web

from devtools.localtwilio.errors import TwilioError, error_response, not_found
from devtools.localtwilio.rest import calls, messaging, numbers
from devtools.localtwilio.rest.params import PARAMS, account_of, flatten

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_rest(path: str) -> bool:
    return path.startswith(("/2010-04-01/", "/v2/"))


@web.middleware
async def rest_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Records each REST request, plays scripted failures, checks auth, and turns refusals
    (and unknown paths) into Twilio's error body."""
    if not is_rest(request.path):
        return await handler(request)
    twilio = account_of(request)
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


def add_routes(app: web.Application) -> None:
    calls.add_routes(app)
    messaging.add_routes(app)
    numbers.add_routes(app)
