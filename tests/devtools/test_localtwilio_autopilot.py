"""With autopilot on, the local Twilio plays a whole call as Twilio does: signed callbacks in
order, the phone page rings, the answer URL's TwiML is followed, the time limit enforced,
the final status posted with the real duration, then the recording."""

import pytest
import requests
from twilio.request_validator import RequestValidator

from devtools.localtwilio.media import MediaStreamBridge
from tests.fakes.twilio import AppStub, LocalTwilioServer, wait_until

TO = "+14155550123"
EVENTS = ["initiated", "ringing", "answered", "completed"]


@pytest.fixture
def twilio():
    server = LocalTwilioServer.shared()
    server.reset()
    server.autopilot = True
    yield server
    server.reset()


@pytest.fixture
def app():
    stub = AppStub().start()
    yield stub
    stub.stop()


def dial(twilio, app, **overrides):
    arguments = {
        "to": TO,
        "from_": twilio.caller_id,
        "url": f"{app.url}/answer?call=1",
        "status_callback": f"{app.url}/callback",
        "status_callback_event": EVENTS,
        "time_limit": 600,
    } | overrides
    return twilio.client().calls.create(**arguments)


def dial_until_it_rings(twilio, app, **overrides):
    """Dials and waits until the phone page rings, ready for the person to pick up or decline."""
    call = dial(twilio, app, **overrides)
    wait_until(lambda: phone_call(twilio, call.sid)["status"] == "ringing", message="ringing")
    return call


def statuses(app) -> list[str]:
    return [form["CallStatus"] for form in app.forms("/callback")]


def phone(twilio, sid: str, action: str) -> requests.Response:
    return requests.post(f"{twilio.url}/phone/calls/{sid}/{action}", json={}, timeout=5)


def phone_call(twilio, sid: str) -> dict:
    calls = requests.get(f"{twilio.url}/phone/state", timeout=5).json()["calls"]
    return next(call for call in calls if call["sid"] == sid)


def test_an_answered_call_posts_signed_callbacks_in_order_and_completes_when_the_person_hangs_up(twilio, app):
    app.twiml = "<Response><Say>Hello from Ada</Say><Pause length='60'/></Response>"
    call = dial(twilio, app)
    wait_until(lambda: statuses(app) == ["initiated", "ringing"], message="ringing")
    assert phone_call(twilio, call.sid)["to"] == "…0123"

    assert phone(twilio, call.sid, "answer").status_code == 200
    wait_until(lambda: phone_call(twilio, call.sid)["said"] == ["Hello from Ada"], message="the greeting")
    assert phone(twilio, call.sid, "hangup").status_code == 200
    wait_until(lambda: "completed" in statuses(app), message="completed")

    assert statuses(app) == ["initiated", "ringing", "in-progress", "completed"]
    forms = app.forms("/callback")
    assert [form["SequenceNumber"] for form in forms] == ["0", "1", "2", "3"]
    validator = RequestValidator(twilio.auth_token)
    for path, headers, form in app.received:
        assert validator.validate(f"{app.url}{path}", form, headers["X-Twilio-Signature"])
    answer = app.forms("/answer")[0]
    assert (answer["CallSid"], answer["CallStatus"], answer["To"]) == (call.sid, "in-progress", TO)
    fetched = twilio.client().calls(call.sid).fetch()
    assert fetched.status == "completed"
    assert forms[-1]["CallDuration"] == fetched.duration


def test_a_declined_call_is_busy(twilio, app):
    call = dial_until_it_rings(twilio, app)

    phone(twilio, call.sid, "decline")

    wait_until(lambda: "busy" in statuses(app), message="busy")
    assert statuses(app) == ["initiated", "ringing", "busy"]
    assert app.forms("/answer") == []


def test_a_call_nobody_answers_is_no_answer_after_its_timeout(twilio, app):
    dial(twilio, app, timeout=1)

    wait_until(lambda: "no-answer" in statuses(app), message="no-answer")

    assert statuses(app) == ["initiated", "ringing", "no-answer"]


def test_hanging_up_through_the_api_while_ringing_cancels_the_call(twilio, app):
    call = dial_until_it_rings(twilio, app)

    twilio.client().calls(call.sid).update(status="canceled")

    wait_until(lambda: "canceled" in statuses(app), message="canceled")
    assert statuses(app) == ["initiated", "ringing", "canceled"]


def test_the_time_limit_ends_the_call_with_that_duration(twilio, app):
    call = dial_until_it_rings(twilio, app, time_limit=1)

    phone(twilio, call.sid, "answer")

    wait_until(lambda: "completed" in statuses(app), message="completed")
    assert app.forms("/callback")[-1]["CallDuration"] == "1"


def test_twiml_that_hangs_up_ends_the_call_and_the_recording_is_posted_after_it(twilio, app):
    app.twiml = "<Response><Say>Bye now</Say><Hangup/></Response>"
    call = dial_until_it_rings(
        twilio, app, record=True, recording_channels="dual", recording_status_callback=f"{app.url}/recording"
    )

    phone(twilio, call.sid, "answer")

    wait_until(lambda: app.forms("/recording"), message="the recording callback")
    assert statuses(app)[-1] == "completed"
    recording = app.forms("/recording")[0]
    assert (recording["CallSid"], recording["RecordingStatus"], recording["RecordingChannels"]) == (
        call.sid,
        "completed",
        "2",
    )
    assert recording["RecordingDuration"] == app.forms("/callback")[-1]["CallDuration"]


def test_auto_answer_picks_up_without_the_person(twilio, app):
    requests.post(f"{twilio.url}/phone/auto-answer", json={"on": True}, timeout=5)
    app.twiml = "<Response><Hangup/></Response>"

    dial(twilio, app)

    wait_until(lambda: "completed" in statuses(app), message="completed")
    assert statuses(app) == ["initiated", "ringing", "in-progress", "completed"]


def test_turning_auto_answer_on_picks_up_a_call_already_ringing(twilio, app):
    app.twiml = "<Response><Hangup/></Response>"
    dial_until_it_rings(twilio, app)

    requests.post(f"{twilio.url}/phone/auto-answer", json={"on": True}, timeout=5)

    wait_until(lambda: "completed" in statuses(app), message="completed")
    assert "in-progress" in statuses(app)


def test_an_answer_url_that_fails_is_an_application_error_and_the_call_ends(twilio, app):
    call = dial_until_it_rings(twilio, app, url=f"{app.url}/missing")

    phone(twilio, call.sid, "answer")

    wait_until(lambda: "completed" in statuses(app), message="completed")
    assert phone_call(twilio, call.sid)["said"] == ["We are sorry, an application error has occurred. Goodbye."]


def test_a_redirect_through_the_api_plays_the_new_twiml(twilio, app):
    call = dial_until_it_rings(twilio, app)
    phone(twilio, call.sid, "answer")
    wait_until(lambda: phone_call(twilio, call.sid)["status"] == "in-progress", message="in progress")

    twilio.client().calls(call.sid).update(twiml="<Response><Say>Time is up</Say><Hangup/></Response>")

    wait_until(lambda: "completed" in statuses(app), message="completed")
    assert phone_call(twilio, call.sid)["said"] == ["Time is up"]


def test_a_media_stream_holds_the_line_until_the_person_hangs_up(twilio, app):
    app.twiml = "<Response><Connect><Stream url='wss://app.example/api/voice/stream'/></Connect></Response>"
    call = dial_until_it_rings(twilio, app)
    phone(twilio, call.sid, "answer")
    wait_until(lambda: phone_call(twilio, call.sid)["stream"], message="the stream")

    phone(twilio, call.sid, "hangup")

    wait_until(lambda: "completed" in statuses(app), message="completed")
    assert phone_call(twilio, call.sid)["stream"] is False


class FinishedStream(MediaStreamBridge):
    """A bridge whose stream the app closes at once; it keeps what it was asked to connect to."""

    def __init__(self) -> None:
        self.requests = []

    async def run(self, *, call, stream, session) -> None:
        self.requests.append(stream)


def test_a_bridge_carries_the_stream_and_the_twiml_goes_on_when_it_closes(twilio, app):
    bridge = twilio.twilio.media_bridge = FinishedStream()
    app.twiml = (
        "<Response><Connect><Stream url='wss://app.example/api/voice/stream'>"
        "<Parameter name='call' value='42'/></Stream></Connect><Say>Goodbye</Say><Hangup/></Response>"
    )
    call = dial_until_it_rings(twilio, app)

    phone(twilio, call.sid, "answer")

    wait_until(lambda: "completed" in statuses(app), message="completed")
    assert [(s.url, s.parameters) for s in bridge.requests] == [("wss://app.example/api/voice/stream", {"call": "42"})]
    assert phone_call(twilio, call.sid)["said"] == ["Goodbye"]


def test_the_phone_page_refuses_to_answer_a_call_that_is_not_ringing(twilio, app):
    app.twiml = "<Response><Hangup/></Response>"
    call = dial_until_it_rings(twilio, app)
    phone(twilio, call.sid, "decline")
    wait_until(lambda: "busy" in statuses(app), message="busy")

    assert phone(twilio, call.sid, "answer").status_code == 409


def test_the_phone_page_buttons_accept_only_json(twilio, app):
    call = dial(twilio, app)

    answer = requests.post(f"{twilio.url}/phone/calls/{call.sid}/answer", data={"x": "1"}, timeout=5)

    assert answer.status_code == 400
