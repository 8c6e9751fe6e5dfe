"""One call (`002_*` §3): detail, hanging up, feedback, the recording; and ownership."""

import pytest
import requests
from django.test import TestCase

from calls.models import Call, CallFeedback, CallRecording, CallTurn
from tests.conftest import client_for


@pytest.fixture
def finished_call(place, twilio) -> Call:
    call = place()
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=330)
    CallTurn.objects.create(call=call, index=0, speaker=CallTurn.Speaker.PERSONA, text="Hey you, it's me!")
    CallTurn.objects.create(call=call, index=1, speaker=CallTurn.Speaker.PERSON, text="Oh hi!")
    return Call.objects.get(pk=call.pk)


@pytest.fixture
def recorded_call(ended_recorded_call, twilio) -> Call:
    twilio.finish_recording(ended_recorded_call.sid)
    return ended_recorded_call


@pytest.fixture
def stranger_client(user_factory):
    return client_for(user_factory())


def _hang_up_requests(twilio, sid: str) -> list[str]:
    return [
        r.params.get("Status") for r in twilio.requests if r.method == "POST" and r.path.endswith(f"/Calls/{sid}.json")
    ]


def _post(client, path: str, body: dict | None = None):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, body or {}, format="json")


# --- detail -----------------------------------------------------------------------------------


def test_the_detail_shows_transcript_cost_breakdown_and_feedback(caller_client, finished_call):
    CallFeedback.objects.create(call=finished_call, rating=4, feedback_text="Lovely")

    response = caller_client.get(f"/api/calls/{finished_call.pk}")

    assert response.status_code == 200
    call = response.json()["call"]
    assert (call["status"], call["twilio_status"], call["duration"], call["cost"]) == (
        "completed",
        "completed",
        330,
        2.25,
    )
    assert call["transcript"] == "Best Friend: Hey you, it's me!\nYou: Oh hi!"
    assert [turn["speaker"] for turn in call["turns"]] == ["persona", "person"]
    assert call["cost_breakdown"]["connection_fee"] == 0.25
    assert call["cost_breakdown"]["per_minute_rate"] == 0.4
    assert call["cost_breakdown"]["total"] == 2.25
    assert call["recording"] == {"enabled": False, "available": False, "status": None, "duration": None}
    assert (call["feedback"]["rating"], call["feedback"]["feedback_text"]) == (4, "Lovely")


def test_another_users_call_is_not_found(stranger_client, finished_call):
    response = stranger_client.get(f"/api/calls/{finished_call.pk}")

    assert (response.status_code, response.json()["error"]) == (404, "NOT_FOUND")


def test_a_malformed_call_id_is_not_found(caller_client):
    assert caller_client.get("/api/calls/not-a-uuid").status_code == 404


# --- ending a call ----------------------------------------------------------------------------


def test_ending_an_answered_call_with_no_stream_hangs_up_through_twilio_at_once(caller_client, place, twilio):
    call = place()
    twilio.advance(call.sid, "in-progress")

    response = _post(caller_client, f"/api/calls/{call.pk}/end")

    assert response.status_code == 200
    assert _hang_up_requests(twilio, call.sid) == ["completed"]
    assert twilio.calls[call.sid].status == "completed"
    assert Call.objects.get(pk=call.pk).ended_by == Call.EndedBy.USER


def test_ending_a_ringing_call_cancels_it(caller_client, place, twilio):
    call = place()
    twilio.advance(call.sid, "ringing")

    _post(caller_client, f"/api/calls/{call.pk}/end")

    assert _hang_up_requests(twilio, call.sid) == ["canceled"]
    assert twilio.calls[call.sid].status == "canceled"


def test_ending_a_finished_call_changes_nothing(caller_client, finished_call, twilio):
    requests_before = len(twilio.requests)

    response = _post(caller_client, f"/api/calls/{finished_call.pk}/end")

    assert response.status_code == 200
    assert response.json()["call"]["status"] == "completed"
    assert len(twilio.requests) == requests_before


def test_ending_a_call_twilio_already_finished_takes_twilios_word(caller_client, place, twilio):
    call = place()
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=75, post=False)

    response = _post(caller_client, f"/api/calls/{call.pk}/end")

    assert response.status_code == 200
    done = Call.objects.get(pk=call.pk)
    assert (done.status, done.duration) == (Call.Status.COMPLETED, 75)


def test_ending_another_users_call_is_not_found(stranger_client, place, twilio):
    call = place()

    response = _post(stranger_client, f"/api/calls/{call.pk}/end")

    assert response.status_code == 404
    assert _hang_up_requests(twilio, call.sid) == []


# --- feedback ---------------------------------------------------------------------------------


def test_feedback_is_saved_once_per_call_and_editable(caller_client, finished_call):
    first = _post(caller_client, f"/api/calls/{finished_call.pk}/feedback", {"rating": 3, "feedback_text": "Okay"})
    second = _post(
        caller_client, f"/api/calls/{finished_call.pk}/feedback", {"rating": 5, "feedback_text": "<b>Great</b>"}
    )

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"message": "Thank you for your feedback"}
    feedback = CallFeedback.objects.get(call=finished_call)
    assert (feedback.rating, feedback.feedback_text) == (5, "Great")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": 4, "feedback_text": "x" * 2001}, "feedback_text"),
    ],
)
def test_feedback_out_of_bounds_is_a_validation_error(caller_client, finished_call, body, field):
    response = _post(caller_client, f"/api/calls/{finished_call.pk}/feedback", body)

    assert (response.status_code, response.json()["error"]) == (400, "VALIDATION_ERROR")
    assert field in response.json()["details"]
    assert not CallFeedback.objects.exists()


def test_an_active_call_cannot_be_rated_yet(caller_client, place):
    call = place()

    response = _post(caller_client, f"/api/calls/{call.pk}/feedback", {"rating": 5})

    assert response.status_code == 400


def test_feedback_on_another_users_call_is_not_found(stranger_client, finished_call):
    response = _post(stranger_client, f"/api/calls/{finished_call.pk}/feedback", {"rating": 1})

    assert response.status_code == 404
    assert not CallFeedback.objects.exists()


# --- recordings -------------------------------------------------------------------------------


def test_the_recording_link_streams_the_audio_from_twilio(asgi_server, caller_client, recorded_call, settings):
    """Streamed on the event loop, so fetched from the ASGI server (tests/calls/test_recording_streaming.py
    shows it arrives as Twilio sends it)."""
    response = caller_client.get(f"/api/calls/{recorded_call.pk}/recording")

    assert response.status_code == 200
    body = response.json()
    assert body["recording_url"].startswith(f"{settings.SITE_URL}/api/recordings/")
    assert body["expires_at"]
    audio = requests.get(asgi_server.url + body["recording_url"].removeprefix(settings.SITE_URL), timeout=30)
    assert audio.status_code == 200
    assert audio.headers["Content-Type"].startswith("audio/")
    assert audio.content[:4] == b"RIFF"


def test_the_recording_link_needs_no_token_but_expires(client, caller_client, recorded_call, settings):
    url = caller_client.get(f"/api/calls/{recorded_call.pk}/recording").json()["recording_url"]
    settings.RECORDING_LINK_SECONDS = 0

    response = client.get(url.removeprefix(settings.SITE_URL))

    assert (response.status_code, response.json()["error"]) == (404, "NOT_FOUND")


def test_a_tampered_recording_link_is_refused(client, caller_client, recorded_call, settings):
    url = caller_client.get(f"/api/calls/{recorded_call.pk}/recording").json()["recording_url"]

    assert client.get(url.removeprefix(settings.SITE_URL) + "x").status_code == 404


def test_a_call_without_recording_has_none_to_fetch(caller_client, finished_call):
    response = caller_client.get(f"/api/calls/{finished_call.pk}/recording")

    assert (response.status_code, response.json()["error"]) == (404, "NOT_FOUND")


def test_another_users_recording_is_not_found(stranger_client, recorded_call):
    assert stranger_client.get(f"/api/calls/{recorded_call.pk}/recording").status_code == 404
    assert stranger_client.delete(f"/api/calls/{recorded_call.pk}/recording").status_code == 404
    assert CallRecording.objects.get().deleted_at is None


def test_deleting_the_recording_removes_it_at_twilio_and_here(caller_client, recorded_call, twilio, settings):
    url = caller_client.get(f"/api/calls/{recorded_call.pk}/recording").json()["recording_url"]
    sid = CallRecording.objects.get().sid

    response = caller_client.delete(f"/api/calls/{recorded_call.pk}/recording")

    assert response.status_code == 200
    assert sid not in twilio.recordings
    assert CallRecording.objects.get().deleted_at is not None
    assert caller_client.get(url.removeprefix(settings.SITE_URL)).status_code == 404
    assert caller_client.get(f"/api/calls/{recorded_call.pk}/recording").status_code == 404


def test_twilio_failing_to_delete_keeps_the_recording(caller_client, recorded_call, twilio):
    twilio.fail_next("DELETE", r"/Recordings/", status=500, code=20500, message="Internal Error")

    response = caller_client.delete(f"/api/calls/{recorded_call.pk}/recording")

    assert (response.status_code, response.json()["error"]) == (500, "TWILIO_ERROR")
    assert CallRecording.objects.get().deleted_at is None


def test_twilio_unreachable_for_the_audio_is_a_twilio_error(caller_client, recorded_call, settings):
    url = caller_client.get(f"/api/calls/{recorded_call.pk}/recording").json()["recording_url"]
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"

    response = caller_client.get(url.removeprefix(settings.SITE_URL))

    assert (response.status_code, response.json()["error"]) == (500, "TWILIO_ERROR")
