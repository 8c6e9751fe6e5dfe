"""The recording endpoint streams Twilio's audio as it arrives, under the real ASGI server:
the listener gets the first chunk while Twilio is still holding back the rest, with Twilio's
Content-Type and Content-Length, and errors still come in the envelope."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from calls.models import Call, CallRecording
from calls.services import recordings
from tests.fakes.twilio import wait_until
from tests.fakes.twilio_recordings import SlowRecordingServer

FIRST = b"RIFF" + bytes(range(256)) * 16  # 4 KiB and a bit: the WAV's head
REST = bytes(range(251)) * 1200  # ~300 KB Twilio sends only once released


@pytest.fixture
def recording(user, persona) -> CallRecording:
    call = Call.objects.create(
        user=user, persona=persona, persona_name=persona.name, phone_number=user.phone, status=Call.Status.COMPLETED
    )
    return CallRecording.objects.create(call=call, sid="RE" + "1" * 32, status="completed", duration=42, channels=2)


@pytest.fixture
def slow_twilio(settings, twilio):
    """The app's Twilio REST base points at a server that holds the recording's body back."""
    with SlowRecordingServer(
        account_sid=twilio.account_sid, auth_token=twilio.auth_token, first=FIRST, rest=REST
    ) as server:
        settings.TWILIO_API_BASE = server.url
        yield server


def open_link(asgi_server, recording: CallRecording, link: str | None = None) -> http.client.HTTPResponse:
    """GETs the recording's signed link (a fresh one by default) from the ASGI server; returns
    once the headers are in."""
    link = link or recordings.recording_link(call=recording.call)[0]
    address = urlsplit(asgi_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    connection.request("GET", urlsplit(link).path)
    return connection.getresponse()


def test_the_first_chunk_arrives_before_twilio_has_sent_the_rest(asgi_server, recording, slow_twilio):
    response = open_link(asgi_server, recording)

    first = response.read(len(FIRST))
    finished_before_first_chunk = slow_twilio.finished
    slow_twilio.release()
    rest = response.read()

    assert response.status == 200
    assert response.getheader("Content-Type") == "audio/x-wav"
    assert response.getheader("Content-Length") == str(len(FIRST) + len(REST))
    assert response.getheader("Cache-Control") == "private, no-store"
    assert response.getheader("X-RateLimit-Limit") == "60"  # the link's limit still counts, per IP
    assert first == FIRST
    assert not finished_before_first_chunk
    assert rest == REST
    assert slow_twilio.requested == [f"{recording.sid}.wav"]
    assert slow_twilio.finished


def test_a_listener_leaving_mid_file_closes_the_connection_to_twilio(asgi_server, recording, slow_twilio):
    response = open_link(asgi_server, recording)
    assert response.read(len(FIRST)) == FIRST

    response.close()

    wait_until(lambda: slow_twilio.abandoned, message="the app to hang up on Twilio")
    assert not slow_twilio.finished


def test_twilio_refusing_the_recording_is_a_twilio_error_in_the_envelope(asgi_server, recording, slow_twilio):
    slow_twilio.status = 404

    response = open_link(asgi_server, recording)

    assert response.status == 500
    assert json.loads(response.read())["error"] == "TWILIO_ERROR"


def test_twilio_unreachable_is_a_twilio_error_in_the_envelope(asgi_server, recording, slow_twilio):
    slow_twilio.stop()

    response = open_link(asgi_server, recording)

    assert response.status == 500
    assert json.loads(response.read())["error"] == "TWILIO_ERROR"


def test_a_deleted_recording_is_not_found_before_twilio_is_asked(asgi_server, recording, slow_twilio):
    link, _ = recordings.recording_link(call=recording.call)
    CallRecording.objects.filter(pk=recording.pk).update(deleted_at=timezone.now())

    response = open_link(asgi_server, recording, link)

    assert response.status == 404
    assert json.loads(response.read())["error"] == "NOT_FOUND"
    assert slow_twilio.requested == []


def test_the_links_rate_limit_answers_429_in_the_envelope(client):
    for _ in range(60):
        assert client.get("/api/recordings/not-a-link").status_code == 404

    response = client.get("/api/recordings/not-a-link")

    assert response.status_code == 429
    assert response.json()["error"] == "RATE_LIMIT_EXCEEDED"
    assert response.json()["retry_after"] >= 1
