"""The phone page: the person's phone for every number the local Twilio calls.

`GET /phone` rings for incoming calls (showing the last four digits of the number called),
with answer / decline / hang-up buttons, what the persona `<Say>`s, and an auto-answer
switch for headless runs. The page polls `GET /phone/state`; its buttons POST JSON (a
content type other sites cannot send without a preflight, so they cannot press them).
"""

from pathlib import Path
from typing import Any

from aiohttp import web

from devtools.localtwilio.account import ACCOUNT
from devtools.localtwilio.lifecycle import SWITCHBOARD
from devtools.localtwilio.state import Call, last4, now

PAGE = Path(__file__).with_name("phone.html")
SHOWN_CALLS = 5
ACTIONS = {"answer", "decline", "hangup"}


def call_state(call: Call) -> dict[str, Any]:
    talking = call.start_time and not call.finished
    return {
        "sid": call.sid,
        "to": last4(call.to),
        "status": call.status,
        "said": list(call.said),
        "stream": bool(call.stream_url),
        "seconds": int((now() - call.start_time).total_seconds()) if talking else call.duration,
    }


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE.read_text(), content_type="text/html")


async def state(request: web.Request) -> web.Response:
    twilio = request.app[ACCOUNT]
    with twilio.store.lock:
        calls = sorted(twilio.store.calls.values(), key=lambda call: call.date_created, reverse=True)
        shown = [call_state(call) for call in calls[:SHOWN_CALLS]]
    return web.json_response({"auto_answer": twilio.auto_answer, "autopilot": twilio.autopilot, "calls": shown})


async def act(request: web.Request) -> web.Response:
    """The person answers, declines or hangs up one call."""
    action, sid = request.match_info["action"], request.match_info["sid"]
    if request.content_type != "application/json" or action not in ACTIONS:
        raise web.HTTPBadRequest(text="POST JSON to answer, decline or hangup")
    if not request.app[SWITCHBOARD].phone_action(sid, action):
        raise web.HTTPConflict(text="That call is not ringing or on the line.")
    return web.json_response({"ok": True})


async def auto_answer(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        raise web.HTTPBadRequest(text='POST JSON {"on": true|false}')
    body = await request.json()
    request.app[SWITCHBOARD].set_auto_answer(bool(body.get("on")))
    return web.json_response({"auto_answer": request.app[ACCOUNT].auto_answer})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/phone", page)
    app.router.add_get("/phone/state", state)
    app.router.add_post("/phone/auto-answer", auto_answer)
    app.router.add_post("/phone/calls/{sid}/{action}", act)
