"""The scheduled-calls page (booking in the person's time zone, series, cancel, pause,
resume) and the admin's bookings list with its "dispatch now" action."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from billing.services import payment_methods
from calls.scheduling.models import CallSeries, ScheduledCall
from calls.services import placing
from tests.calls.conftest import PHONE
from tests.scheduling.helpers import book

Status = ScheduledCall.Status


@pytest.fixture
def browser(caller) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(caller)
    client.get("/calls/scheduled/")
    return client


def _post(client: Client, path: str, data: dict):
    return client.post(path, data, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def _book_on_the_page(client: Client, persona, local_time: datetime, *, estimated_minutes: int):
    """Submits the page's booking form, the time as the person's browser sends it (local, to the minute)."""
    return _post(
        client,
        "/calls/scheduled/",
        {
            "form": "schedule",
            "schedule-persona_id": str(persona.pk),
            "schedule-phone_number": PHONE,
            "schedule-estimated_duration": str(estimated_minutes),
            "schedule-local_time": local_time.strftime("%Y-%m-%dT%H:%M"),
        },
    )


def test_the_page_needs_a_login(client):
    response = client.get("/calls/scheduled/")

    assert response.status_code == 302


def test_booking_from_the_page_reads_the_time_in_the_persons_zone(caller, browser, persona):
    caller.timezone = "America/New_York"
    caller.save(update_fields=["timezone"])
    local = (
        (timezone.now() + timedelta(days=2))
        .astimezone(ZoneInfo("America/New_York"))
        .replace(hour=7, minute=0, second=0, microsecond=0)
    )

    response = _book_on_the_page(browser, persona, local, estimated_minutes=10)

    assert response.status_code == 302
    booking = ScheduledCall.objects.get()
    assert booking.scheduled_time == local
    assert booking.authorization.amount_authorized == 425
    page = browser.get("/calls/scheduled/").content.decode()
    assert f"{local:%a} {local.day} {local:%b} {local.year}, 07:00" in page


def test_a_booking_too_soon_shows_the_reason_and_places_no_hold(caller, browser, persona):
    soon = datetime.now(ZoneInfo("UTC")) + timedelta(minutes=2)

    response = _book_on_the_page(browser, persona, soon, estimated_minutes=5)

    assert response.status_code == 200
    assert "Book at least 5 minutes ahead." in response.content.decode()
    assert not ScheduledCall.objects.exists()
    assert not caller.payment_authorizations.exists()


def test_a_booking_refused_after_its_hold_was_placed_releases_it(caller, browser, persona, make_card):
    payment_methods.payment_method_add(
        user=caller, payment_method_id=make_card("4000002500003155"), set_as_default=True
    )
    later = datetime.now(ZoneInfo("UTC")) + timedelta(days=1)

    response = _book_on_the_page(browser, persona, later, estimated_minutes=5)

    assert response.status_code == 200
    assert "confirm this payment" in response.content.decode()
    assert not ScheduledCall.objects.exists()
    assert list(caller.payment_authorizations.values_list("status", flat=True)) == ["canceled"]


def test_the_page_lists_bookings_with_their_status_and_cancels_one(caller, browser, persona):
    booking = book(caller, persona, minutes_ahead=60)

    page = browser.get("/calls/scheduled/").content.decode()
    response = _post(browser, f"/calls/scheduled/{booking.pk}/cancel", {})

    assert f'data-booking="{booking.pk}"' in page and "Scheduled" in page
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Status.CANCELLED


def test_another_persons_booking_cannot_be_cancelled_from_the_page(caller, persona, user_factory):
    booking = book(caller, persona, minutes_ahead=60)
    stranger = Client()
    stranger.force_login(user_factory())

    stranger.post(f"/calls/scheduled/{booking.pk}/cancel")

    booking.refresh_from_db()
    assert booking.status == Status.SCHEDULED


def test_a_series_started_from_the_page_can_be_paused_and_resumed(caller, browser, persona):
    at = (timezone.now() + timedelta(hours=2)).strftime("%H:%M")
    _post(
        browser,
        "/calls/scheduled/",
        {
            "form": "series",
            "series-persona_id": str(persona.pk),
            "series-phone_number": PHONE,
            "series-estimated_duration": "5",
            "series-time_of_day": at,
            "series-weekdays": ["1", "2", "3", "4", "5", "6", "7"],
            "series-time_zone": "UTC",
            "series-off_session_consent": "on",
        },
    )
    series = CallSeries.objects.get()

    _post(browser, f"/calls/series/{series.pk}/pause", {})
    paused = CallSeries.objects.get().status
    _post(browser, f"/calls/series/{series.pk}/resume", {})

    assert paused == CallSeries.Status.PAUSED
    assert CallSeries.objects.get().status == CallSeries.Status.ACTIVE
    assert ScheduledCall.objects.filter(status=Status.SCHEDULED).count() == 1


def test_the_profile_page_saves_the_time_zone(caller):
    client = Client()
    client.force_login(caller)

    client.post(
        "/profile",
        {
            "form": "profile",
            "name": caller.name,
            "email": caller.email,
            "phone": caller.phone,
            "time_zone": "Europe/London",
        },
    )

    caller.refresh_from_db()
    assert caller.timezone == "Europe/London"


# --- Admin -------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(user_factory) -> Client:
    client = Client()
    client.force_login(user_factory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_lists_bookings_with_their_lateness_and_masked_numbers(admin_client, caller, persona):
    booking = book(caller, persona)
    ScheduledCall.objects.filter(pk=booking.pk).update(lateness_ms=1500)

    page = admin_client.get("/admin/scheduling/scheduledcall/?status__exact=scheduled").content.decode()

    assert "1.5 s" in page
    assert f"…{PHONE[-4:]}" in page and PHONE not in page


def test_the_admin_lists_series(admin_client):
    assert admin_client.get("/admin/scheduling/callseries/").status_code == 200


def test_dispatch_now_makes_a_booking_due_at_once(admin_client, caller, persona):
    booking = book(caller, persona, minutes_ahead=60)

    admin_client.post(
        "/admin/scheduling/scheduledcall/", {"action": "dispatch_now", "_selected_action": [str(booking.pk)]}
    )

    booking.refresh_from_db()
    assert booking.scheduled_time <= timezone.now()


def test_a_placed_booking_links_to_its_call(caller, browser, persona):
    booking = book(caller, persona, minutes_ahead=60)
    call = placing.call_create(user=caller, phone_number=PHONE, persona=persona, authorization=booking.authorization)
    ScheduledCall.objects.filter(pk=booking.pk).update(call=call, status=Status.PLACED, placed_at=timezone.now())

    page = browser.get("/calls/scheduled/").content.decode()

    assert f'href="/calls/{call.pk}"' in page
