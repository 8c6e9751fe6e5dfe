"""The local Twilio answers the real `twilio` SDK as Twilio does: auth, required parameters,
error codes, Verify's limits, and status callbacks signed so RequestValidator accepts them."""

from datetime import timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.twilio import AppStub, LocalTwilioServer

TO = "+14155550123"
EVENTS = ["initiated", "ringing", "answered", "completed"]


@pytest.fixture
def twilio() -> LocalTwilioServer:
    server = LocalTwilioServer.shared()
    server.reset()
    return server


@pytest.fixture
def client(twilio) -> Client:
    return twilio.client()


@pytest.fixture
def receiver():
    receiver = AppStub().start()
    yield receiver
    receiver.stop()


def place_call(twilio, client, *, callback_url="https://app.example/api/twilio/callback", **overrides):
    arguments = {
        "to": TO,
        "from_": twilio.caller_id,
        "url": "https://app.example/api/voice/answer",
        "status_callback": callback_url,
        "status_callback_event": EVENTS,
        "status_callback_method": "POST",
        "time_limit": 300,
    } | overrides
    return client.calls.create(**arguments)


def refusal(call) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as raised:
        call()
    return raised.value


def test_a_created_call_is_queued_with_the_parameters_as_sent(twilio, client):
    call = place_call(twilio, client, record=True, recording_channels="dual")

    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert (call.status, call.to, call._from) == ("queued", TO, twilio.caller_id)
    stored = twilio.calls[call.sid]
    assert stored.params["StatusCallbackEvent"] == EVENTS
    assert (stored.params["TimeLimit"], stored.params["Record"], stored.params["RecordingChannels"]) == (
        "300",
        "true",
        "dual",
    )
    assert twilio.requests[-1].method == "POST"
    assert twilio.requests[-1].path == f"/2010-04-01/Accounts/{twilio.account_sid}/Calls.json"


def test_a_wrong_auth_token_is_refused_with_20003(twilio):
    wrong = Client(twilio.account_sid, "not-the-token", http_client=twilio.client().http_client)

    error = refusal(lambda: wrong.calls("CA" + "0" * 32).fetch())

    assert (error.status, error.code) == (401, 20003)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"to": ""}, 21201),
        ({"to": "0123"}, 21211),
        ({"from_": ""}, 21213),
        ({"url": ""}, 21205),
        ({"url": "not a url"}, 21205),
        ({"from_": "+14155550199"}, 21210),
    ],
)
def test_a_call_missing_or_with_a_bad_parameter_is_refused_with_twilios_code(twilio, client, overrides, code):
    error = refusal(lambda: place_call(twilio, client, **overrides))

    assert (error.status, error.code) == (400, code)
    assert twilio.calls == {}


def test_an_unknown_call_is_a_20404(twilio, client):
    error = refusal(lambda: client.calls("CA" + "0" * 32).fetch())

    assert (error.status, error.code) == (404, 20404)


def test_hanging_up_a_call_not_yet_answered_cancels_it(twilio, client):
    call = place_call(twilio, client)

    updated = client.calls(call.sid).update(status="completed")

    assert updated.status == "canceled"
    assert client.calls(call.sid).fetch().duration == "0"


def test_hanging_up_an_answered_call_completes_it_with_its_duration_and_price(twilio, client, receiver):
    call = place_call(twilio, client, callback_url=f"{receiver.url}/callback")
    twilio.advance(call.sid, "in-progress")
    twilio.calls[call.sid].start_time -= timedelta(seconds=75)

    client.calls(call.sid).update(status="completed")
    fetched = client.calls(call.sid).fetch()

    assert (fetched.status, fetched.duration, fetched.price, fetched.price_unit) == (
        "completed",
        "75",
        "-0.02800",
        "USD",
    )


def test_canceling_an_answered_call_leaves_it_on_the_line(twilio, client, receiver):
    call = place_call(twilio, client, callback_url=f"{receiver.url}/callback")
    twilio.advance(call.sid, "in-progress")

    updated = client.calls(call.sid).update(status="canceled")

    assert updated.status == "in-progress"


def test_a_finished_call_cannot_be_updated_again(twilio, client):
    call = place_call(twilio, client)
    client.calls(call.sid).update(status="canceled")

    error = refusal(lambda: client.calls(call.sid).update(status="completed"))

    assert (error.status, error.code) == (400, 21220)


def test_a_scripted_failure_answers_the_next_matching_request_only(twilio, client):
    twilio.fail_next("POST", r"/Calls\.json$", status=503, code=20503, message="Service unavailable")

    error = refusal(lambda: place_call(twilio, client))
    call = place_call(twilio, client)

    assert (error.status, error.code, error.msg) == (503, 20503, "Unable to create record: Service unavailable")
    assert call.status == "queued"


def test_advance_posts_signed_callbacks_in_sequence_for_the_events_asked(twilio, client, receiver):
    callback_url = f"{receiver.url}/api/twilio/callback?attempt=1"
    call = place_call(twilio, client, callback_url=callback_url, status_callback_event=["ringing", "completed"])

    twilio.advance(call.sid, "initiated")
    twilio.advance(call.sid, "ringing")
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=42)

    statuses = [form["CallStatus"] for _, _, form in receiver.received]
    assert statuses == ["ringing", "completed"]
    validator = RequestValidator(twilio.auth_token)
    for path, headers, form in receiver.received:
        assert path == "/api/twilio/callback?attempt=1"
        assert validator.validate(callback_url, form, headers["X-Twilio-Signature"])
    ringing, completed = (form for _, _, form in receiver.received)
    assert [ringing["SequenceNumber"], completed["SequenceNumber"]] == ["0", "1"]
    assert (completed["CallDuration"], completed["Duration"], completed["CallSid"]) == ("42", "1", call.sid)
    assert (completed["AccountSid"], completed["Direction"], completed["To"]) == (
        twilio.account_sid,
        "outbound-api",
        TO,
    )
    assert completed["CallbackSource"] == "call-progress-events"


def test_a_built_callback_can_be_sent_late_and_twice(twilio, client, receiver):
    call = place_call(twilio, client, callback_url=f"{receiver.url}/cb")
    ringing = twilio.advance(call.sid, "ringing", post=False)
    twilio.advance(call.sid, "in-progress")

    ringing.post_blocking()
    ringing.post_blocking()

    assert [form["CallStatus"] for _, _, form in receiver.received] == ["in-progress", "ringing", "ringing"]


def test_a_verification_code_goes_to_the_console_with_the_last_four_digits_only(twilio, client):
    verification = client.verify.v2.services(twilio.verify_service_sid).verifications.create(to=TO, channel="sms")

    code = twilio.verification_code(TO)
    assert verification.status == "pending" and len(code) == 6 and code.isdigit()
    assert twilio.console == [f"SMS to …0123: Your Call Me Back verification code is: {code}"]


def test_a_right_code_approves_and_the_verification_is_then_gone(twilio, client):
    service = client.verify.v2.services(twilio.verify_service_sid)
    service.verifications.create(to=TO, channel="sms")
    code = twilio.verification_code(TO)

    wrong = service.verification_checks.create(to=TO, code="000000" if code != "000000" else "111111")
    right = service.verification_checks.create(to=TO, code=code)
    error = refusal(lambda: service.verification_checks.create(to=TO, code=code))

    assert (wrong.status, wrong.valid) == ("pending", False)
    assert (right.status, right.valid) == ("approved", True)
    assert (error.status, error.code) == (404, 20404)


def test_five_wrong_codes_lock_the_verification(twilio, client):
    service = client.verify.v2.services(twilio.verify_service_sid)
    service.verifications.create(to=TO, channel="sms")
    wrong = "000000" if twilio.verification_code(TO) != "000000" else "111111"
    for _ in range(5):
        service.verification_checks.create(to=TO, code=wrong)

    error = refusal(lambda: service.verification_checks.create(to=TO, code=twilio.verification_code(TO)))

    assert (error.status, error.code) == (429, 60202)


def test_a_sixth_send_within_ten_minutes_is_refused_and_resends_keep_the_code(twilio, client):
    service = client.verify.v2.services(twilio.verify_service_sid)
    first = service.verifications.create(to=TO, channel="sms")
    code = twilio.verification_code(TO)
    for _ in range(4):
        again = service.verifications.create(to=TO, channel="sms")

    error = refusal(lambda: service.verifications.create(to=TO, channel="sms"))

    assert again.sid == first.sid and twilio.verification_code(TO) == code
    assert (error.status, error.code) == (429, 60203)


def test_an_expired_verification_cannot_be_checked(twilio, client):
    service = client.verify.v2.services(twilio.verify_service_sid)
    verification = service.verifications.create(to=TO, channel="sms")
    code = twilio.verification_code(TO)
    twilio.twilio.store.verifications[verification.sid].date_created -= timedelta(minutes=10)

    error = refusal(lambda: service.verification_checks.create(to=TO, code=code))

    assert (error.status, error.code) == (404, 20404)


@pytest.mark.parametrize(("to", "channel"), [("", "sms"), ("0123", "sms"), (TO, "pigeon")])
def test_a_verification_with_a_bad_parameter_is_refused_with_60200(twilio, client, to, channel):
    service = client.verify.v2.services(twilio.verify_service_sid)

    error = refusal(lambda: service.verifications.create(to=to, channel=channel))

    assert (error.status, error.code) == (400, 60200)


def test_an_unknown_verify_service_is_a_20404(twilio, client):
    error = refusal(lambda: client.verify.v2.services("VA" + "f" * 32).verifications.create(to=TO, channel="sms"))

    assert (error.status, error.code) == (404, 20404)


def test_a_text_is_stored_and_printed_with_the_last_four_digits_only(twilio, client):
    message = client.messages.create(to=TO, from_=twilio.caller_id, body="Your call is ready")

    assert message.sid.startswith("SM") and message.status == "queued"
    assert [m.body for m in twilio.messages] == ["Your call is ready"]
    assert twilio.console == ["SMS to …0123: Your call is ready"]


@pytest.mark.parametrize(("overrides", "code"), [({"to": ""}, 21604), ({"body": ""}, 21602), ({"to": "12"}, 21211)])
def test_a_text_missing_or_with_a_bad_parameter_is_refused(twilio, client, overrides, code):
    arguments = {"to": TO, "from_": twilio.caller_id, "body": "hello"} | overrides

    error = refusal(lambda: client.messages.create(**arguments))

    assert (error.status, error.code) == (400, code)


def test_a_recording_is_posted_fetched_as_audio_and_deleted(twilio, client, receiver):
    call = place_call(
        twilio,
        client,
        callback_url=f"{receiver.url}/callback",
        record=True,
        recording_channels="dual",
        recording_status_callback=f"{receiver.url}/recording",
    )
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=3)

    twilio.finish_recording(call.sid)

    path, headers, form = receiver.received[-1]
    assert path == "/recording"
    assert (form["RecordingStatus"], form["RecordingDuration"], form["RecordingChannels"]) == ("completed", "3", "2")
    assert RequestValidator(twilio.auth_token).validate(
        f"{receiver.url}/recording", form, headers["X-Twilio-Signature"]
    )
    recording = client.recordings(form["RecordingSid"]).fetch()
    assert (recording.call_sid, recording.duration, recording.channels) == (call.sid, "3", 2)
    audio = requests.get(form["RecordingUrl"] + ".wav", auth=(twilio.account_sid, twilio.auth_token), timeout=5)
    assert (audio.status_code, audio.headers["Content-Type"], audio.content[:4]) == (200, "audio/x-wav", b"RIFF")
    assert client.recordings(form["RecordingSid"]).delete() is True
    assert refusal(lambda: client.recordings(form["RecordingSid"]).fetch()).code == 20404


def test_recording_audio_needs_the_account_credentials(twilio, client, receiver):
    call = place_call(
        twilio,
        client,
        callback_url=f"{receiver.url}/callback",
        record=True,
        recording_status_callback=f"{receiver.url}/recording",
    )
    twilio.advance(call.sid, "completed", duration=1)
    twilio.finish_recording(call.sid)

    answer = requests.get(receiver.received[-1][2]["RecordingUrl"], timeout=5)

    assert (answer.status_code, answer.json()["code"]) == (401, 20003)


def test_a_number_found_in_a_search_can_be_bought_and_called_from(twilio, client):
    offered = client.available_phone_numbers("US").local.list(area_code="212", limit=5)
    bought = client.incoming_phone_numbers.create(phone_number=offered[0].phone_number)

    call = place_call(twilio, client, from_=bought.phone_number)
    again = client.available_phone_numbers("US").local.list(area_code="212", limit=5)

    assert [number.phone_number for number in offered][:2] == ["+12125550100", "+12125550101"]
    assert bought.sid.startswith("PN") and call.status == "queued"
    assert again[0].phone_number == "+12125550101"
    assert [n.phone_number for n in client.incoming_phone_numbers.list()] == [twilio.caller_id, bought.phone_number]


def test_a_number_already_owned_cannot_be_bought(twilio, client):
    error = refusal(lambda: client.incoming_phone_numbers.create(phone_number=twilio.caller_id))

    assert (error.status, error.code) == (400, 21422)
