"""Calls in Django admin: active calls, hang-up through Twilio, the hold and its settlement,
what a call cost us provider by provider, the daily page, and buying caller-ID numbers
through Twilio's API."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from calls.models import Call, CallerIdNumber, CallUsage
from tests.calls.conftest import PHONE
from tests.factories import UserFactory


@pytest.fixture
def staff(db) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def finished(user, persona, *, days_ago=0, duration=120, cost_cents=105, provider_cost="0.028", **fields) -> Call:
    moment = timezone.now() - timedelta(days=days_ago)
    return Call.objects.create(
        user=user,
        persona=persona,
        persona_name=persona.name,
        phone_number=PHONE,
        status=fields.pop("status", Call.Status.COMPLETED),
        created_at=moment,
        start_time=moment,
        end_time=moment + timedelta(seconds=duration),
        duration=duration,
        cost_cents=cost_cents,
        provider_cost=Decimal(provider_cost),
        **fields,
    )


def test_active_now_lists_only_calls_in_progress(staff, place, persona):
    live = place()
    done = finished(UserFactory(), persona)

    page = staff.get("/admin/calls/call/?active=yes").content.decode()

    assert f"/admin/calls/call/{live.pk}/change/" in page
    assert f"/admin/calls/call/{done.pk}/change/" not in page


def test_the_hang_up_action_ends_the_call_at_twilio(staff, place, twilio):
    call = place()

    staff.post("/admin/calls/call/", {"action": "hang_up", "_selected_action": [str(call.pk)]})

    assert twilio.calls[call.sid].status == "canceled"
    assert Call.objects.get(pk=call.pk).ended_by == Call.EndedBy.ADMIN


def test_a_settled_call_shows_its_hold_and_the_capture(staff, place, twilio):
    call = place()
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=60)

    page = staff.get(f"/admin/calls/call/{call.pk}/change/").content.decode()

    assert "$2.25 held, $0.65 captured" in page
    assert "Capture: $0.65" in page


def test_the_daily_page_sums_calls_minutes_revenue_and_twilio_cost_per_day(staff, caller, persona):
    finished(caller, persona, duration=120, cost_cents=105, provider_cost="0.028")
    finished(caller, persona, duration=0, cost_cents=0, provider_cost="0", status=Call.Status.FAILED)
    finished(caller, persona, days_ago=1, duration=30, cost_cents=45, provider_cost="0.014")

    page = staff.get("/admin/calls/call/daily/").content.decode()

    today, yesterday = timezone.now().date(), timezone.now().date() - timedelta(days=1)
    assert f"<td>{today:%Y-%m-%d}</td><td>2</td><td>1</td><td>2</td><td>$1.05</td><td>$0.03</td>" in page
    assert f"<td>{yesterday:%Y-%m-%d}</td><td>1</td><td>1</td><td>1</td><td>$0.45</td><td>$0.01</td>" in page


def usage(call: Call, kind: str, provider: str, unit: str, quantity: str | None, cost: str | None, unreported=0):
    CallUsage.objects.create(
        call=call,
        kind=kind,
        provider=provider,
        unit=unit,
        quantity=None if quantity is None else Decimal(quantity),
        cost=None if cost is None else Decimal(cost),
        unreported=unreported,
    )


def test_a_call_page_shows_what_each_provider_did_and_cost_beside_the_revenue(staff, caller, persona):
    call = finished(caller, persona, duration=150, cost_cents=125, provider_cost="0.034")
    usage(call, "stt", "deepgram nova-3", "seconds", "149.96", "0.019245")
    usage(call, "llm", "gpt-4o-mini", "input_tokens", "2000", "0.000300")
    usage(call, "llm", "gpt-4o-mini", "output_tokens", "120", "0.000072", unreported=1)
    usage(call, "tts", "elevenlabs eleven_flash_v2_5", "characters", "900", "0.045000")

    page = staff.get(f"/admin/calls/call/{call.pk}/change/").content.decode()

    rows = [
        ("Telephony", "twilio", "2.5 minutes (150 s)", "$0.0340"),
        ("Speech to text", "deepgram nova-3", "149.96 seconds of audio", "$0.0192"),
        ("Language model", "gpt-4o-mini", "2,000 input tokens", "$0.0003"),
        (
            "Language model",
            "gpt-4o-mini",
            "120 output tokens (+ 1 request(s) whose usage was never reported)",
            "$0.0001",
        ),
        ("Text to speech", "elevenlabs eleven_flash_v2_5", "900 characters", "$0.0450"),
    ]
    body = "".join(
        f"<tr><td>{kind}</td><td>{provider}</td><td>{used}</td><td>{cost}</td></tr>"
        for kind, provider, used, cost in rows
    )
    assert f"<tbody>{body}</tbody>" in page
    assert "Total provider cost (at least: some usage is unknown)</th><td>$0.0986</td>" in page
    assert "Revenue (what the person paid)</th><td>$1.25</td>" in page


def test_a_call_whose_usage_is_all_known_shows_its_total_as_exact(staff, caller, persona):
    call = finished(caller, persona, provider_cost="0.028")
    usage(call, "tts", "elevenlabs eleven_flash_v2_5", "characters", "100", "0.005000")

    page = staff.get(f"/admin/calls/call/{call.pk}/change/").content.decode()

    assert "Total provider cost</th><td>$0.0330</td>" in page


def test_the_daily_page_adds_the_voice_providers_cost_and_the_total_per_day(staff, caller, persona):
    first = finished(caller, persona, provider_cost="0.028")
    second = finished(caller, persona, provider_cost="0.014")
    usage(first, "tts", "elevenlabs eleven_flash_v2_5", "characters", "2000", "0.100000")
    usage(first, "stt", "deepgram nova-3", "seconds", "120", "0.015400")
    usage(second, "tts", "elevenlabs eleven_flash_v2_5", "characters", "1000", "0.050000")

    page = staff.get("/admin/calls/call/daily/").content.decode()

    assert f"<td>{timezone.now().date():%Y-%m-%d}</td><td>2</td>" in page
    assert "<td>$2.10</td><td>$0.04</td><td>$0.17</td><td>$0.21</td></tr>" in page


def test_a_number_found_at_twilio_is_bought_into_the_pool_and_calls_go_out_from_it(staff, place, twilio):
    search = staff.get("/admin/calls/calleridnumber/buy/?country=US&area_code=212").content.decode()
    assert "+12125550100" in search

    staff.post("/admin/calls/calleridnumber/buy/", {"phone_number": "+12125550100"})
    call = place()

    number = CallerIdNumber.objects.get()
    assert (number.phone_number, number.twilio_sid[:2]) == ("+12125550100", "PN")
    assert twilio.calls[call.sid].from_ == "+12125550100"


def test_buying_a_number_already_in_the_pool_is_refused(staff, twilio):
    CallerIdNumber.objects.create(phone_number="+12125550100")

    response = staff.post("/admin/calls/calleridnumber/buy/", {"phone_number": "+12125550100"}, follow=True)

    assert "This number is already in the pool." in response.content.decode()
    assert [r for r in twilio.requests if "IncomingPhoneNumbers" in r.path] == []


def test_without_twilio_credentials_numbers_cannot_be_bought_here(staff, settings):
    settings.TWILIO_ACCOUNT_SID = ""

    page = staff.get("/admin/calls/calleridnumber/").content.decode()

    assert "Buy numbers" not in page
