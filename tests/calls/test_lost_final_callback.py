"""A call whose final callback never arrives is settled (issue 16): the app's server stopped
mid-call and the local Twilio was killed and restarted, as stopping `scripts/run` mid-call
and starting it again does. The local Twilio runs as its own process (`run_localtwilio`),
its callbacks go to a stub, never to the app; the sweeper settles the call from Twilio's
record of it, with the real duration, captured once."""

import json
import signal
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.test import TestCase
from django.utils import timezone
from twilio.rest import Client

from billing import pricing
from billing.models import AuthorizationSettlement
from callmeback.stand_ins import LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, LOCALTWILIO_CALLER_ID
from calls.models import Call
from calls.services import lifecycle
from tests.devtools.command_server import start_server
from tests.fakes.twilio import AppStub, RebasedHttpClient, wait_until

ANSWERED_FOR = timedelta(seconds=2)


@pytest.fixture
def app_stub(settings):
    """Where the local Twilio's callbacks and answer requests go: nowhere near the app. It
    keeps the call on the line (a minute's pause) as the persona would."""
    stub = AppStub()
    stub.answer_path = "/api/voice/answer"
    with stub:
        settings.SITE_URL = stub.url
        yield stub


@pytest.fixture
def files(tmp_path) -> tuple[str, ...]:
    calls = tmp_path / "calls.json"
    return ("--auto-answer", "--calls-file", str(calls), "--numbers-file", str(tmp_path / "numbers.json"))


def _point_at(settings, url: str) -> None:
    settings.TWILIO_API_BASE = url
    settings.TWILIO_ACCOUNT_SID = LOCALTWILIO_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = LOCALTWILIO_AUTH_TOKEN
    settings.TWILIO_CALLER_ID = LOCALTWILIO_CALLER_ID


def _answered_long_enough(calls_file: str, sid: str) -> bool:
    """Whether the local Twilio's calls file shows the call on the line for ANSWERED_FOR."""
    try:
        saved = json.loads(Path(calls_file).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    call = next((record for record in saved["calls"] if record["sid"] == sid), None)
    if call is None or call["status"] != "in-progress":
        return False
    return datetime.fromisoformat(saved["saved_at"]) - datetime.fromisoformat(call["start_time"]) >= ANSWERED_FOR


def _sweep_after_silence(settings, call: Call) -> int:
    """The sweeper, once the call has had no news for the sweep's grace."""
    silent_since = timezone.now() - timedelta(seconds=settings.CALL_SWEEP_GRACE_SECONDS + 1)
    Call.objects.filter(pk=call.pk).update(updated_at=silent_since)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return lifecycle.calls_sweep()


def test_a_call_cut_off_by_restarts_is_settled_from_twilios_record_once(
    settings, app_stub, files, place, caller_client
):
    process, url = start_server("run_localtwilio", *files)
    try:
        _point_at(settings, url)
        call = place()
        wait_until(
            lambda: any(form.get("CallStatus") == "in-progress" for form in app_stub.forms("/api/twilio/callback")),
            message="the call to be answered",
        )
        wait_until(lambda: _answered_long_enough(files[2], call.sid), message="the call to be on the line a while")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert Call.objects.get(pk=call.pk).status == Call.Status.INITIATED  # no callback ever reached the app

    process, url = start_server("run_localtwilio", *files)
    try:
        _point_at(settings, url)
        record = Client(LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, http_client=RebasedHttpClient(url))
        kept = record.calls(call.sid).fetch()

        assert _sweep_after_silence(settings, call) == 1
        assert _sweep_after_silence(settings, call) == 0
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert kept.status == "completed" and int(kept.duration) >= ANSWERED_FOR.total_seconds()
    settled = Call.objects.get(pk=call.pk)
    assert (settled.status, settled.duration) == (Call.Status.COMPLETED, int(kept.duration))
    cost = pricing.call_cost_cents(settled.duration)
    settlements = AuthorizationSettlement.objects.filter(authorization_id=call.authorization_id)
    assert list(settlements.values_list("kind", "amount")) == [("capture", cost)]
    shown = caller_client.get(f"/api/calls/{call.pk}").json()["call"]
    assert (shown["status"], shown["duration"]) == ("completed", settled.duration)
