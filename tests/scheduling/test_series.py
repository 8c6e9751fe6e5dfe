"""Recurring series: occurrences on the local wall clock across daylight-saving changes
(`America/New_York`, `Europe/London`), each booked once a day ahead with its own
off-session hold, and pause, resume, re-time and stop through the API."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import PaymentAuthorization
from callmeback.errors import ValidationFailed
from calls.scheduling import recurring
from calls.scheduling.models import CallSeries, ScheduledCall
from tests.billing.conftest import front  # noqa: F401  (fixture)
from tests.calls.conftest import PHONE
from tests.conftest import client_for

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]
Status = ScheduledCall.Status


def _series(*, zone: str, at: time, starts_on: date, weekdays=EVERY_DAY, end_date=None) -> CallSeries:
    return CallSeries(timezone=zone, local_time=at, weekdays=weekdays, starts_on=starts_on, end_date=end_date)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _occurrences(series: CallSeries, first: date, last: date) -> list[datetime]:
    return recurring.series_occurrences(
        series=series, after=_utc(first.year, first.month, first.day), before=_utc(last.year, last.month, last.day)
    )


# --- The wall clock across daylight-saving changes ---------------------------------------------------


def test_seven_am_in_new_york_stays_seven_am_across_the_spring_change():
    series = _series(zone="America/New_York", at=time(7), starts_on=date(2026, 3, 1))

    times = _occurrences(series, date(2026, 3, 6), date(2026, 3, 11))

    assert times == [
        _utc(2026, 3, 6, 12),
        _utc(2026, 3, 7, 12),
        _utc(2026, 3, 8, 11),
        _utc(2026, 3, 9, 11),
        _utc(2026, 3, 10, 11),
    ]


def test_seven_am_in_new_york_stays_seven_am_across_the_autumn_change():
    series = _series(zone="America/New_York", at=time(7), starts_on=date(2026, 10, 1))

    times = _occurrences(series, date(2026, 10, 31), date(2026, 11, 3))

    assert times == [_utc(2026, 10, 31, 11), _utc(2026, 11, 1, 12), _utc(2026, 11, 2, 12)]


def test_a_new_york_time_skipped_by_the_spring_change_rings_at_the_next_valid_minute():
    series = _series(zone="America/New_York", at=time(2, 30), starts_on=date(2026, 3, 1))

    times = _occurrences(series, date(2026, 3, 7), date(2026, 3, 10))

    # 02:30 on 8 March does not exist: 03:00 EDT (07:00 UTC) is the next minute that does.
    assert times == [_utc(2026, 3, 7, 7, 30), _utc(2026, 3, 8, 7), _utc(2026, 3, 9, 6, 30)]


def test_a_new_york_time_repeated_by_the_autumn_change_rings_once():
    series = _series(zone="America/New_York", at=time(1, 30), starts_on=date(2026, 10, 1))

    times = _occurrences(series, date(2026, 11, 1), date(2026, 11, 2))

    # 01:30 happens twice on 1 November (EDT, then EST): the call rings at the first.
    assert times == [_utc(2026, 11, 1, 5, 30)]


def test_seven_am_in_london_stays_seven_am_across_both_changes():
    series = _series(zone="Europe/London", at=time(7), starts_on=date(2026, 3, 1))

    spring = _occurrences(series, date(2026, 3, 28), date(2026, 3, 31))
    autumn = _occurrences(series, date(2026, 10, 24), date(2026, 10, 27))

    assert spring == [_utc(2026, 3, 28, 7), _utc(2026, 3, 29, 6), _utc(2026, 3, 30, 6)]
    assert autumn == [_utc(2026, 10, 24, 6), _utc(2026, 10, 25, 7), _utc(2026, 10, 26, 7)]


def test_a_london_time_skipped_in_spring_rings_at_two_and_a_repeated_one_rings_once():
    skipped = _series(zone="Europe/London", at=time(1, 30), starts_on=date(2026, 3, 1))
    repeated = _series(zone="Europe/London", at=time(1, 30), starts_on=date(2026, 10, 1))

    assert _occurrences(skipped, date(2026, 3, 29), date(2026, 3, 30)) == [_utc(2026, 3, 29, 1)]
    assert _occurrences(repeated, date(2026, 10, 25), date(2026, 10, 26)) == [_utc(2026, 10, 25, 0, 30)]


def test_only_the_chosen_weekdays_ring():
    series = _series(zone="Europe/London", at=time(18, 30), starts_on=date(2026, 6, 1), weekdays=[1, 3, 5])

    times = _occurrences(series, date(2026, 6, 1), date(2026, 6, 8))

    assert [moment.date() for moment in times] == [date(2026, 6, 1), date(2026, 6, 3), date(2026, 6, 5)]


def test_the_end_date_is_the_last_local_day_that_rings():
    series = _series(zone="America/New_York", at=time(22), starts_on=date(2026, 6, 1), end_date=date(2026, 6, 2))

    times = _occurrences(series, date(2026, 6, 1), date(2026, 6, 10))

    # 22:00 in New York is 02:00 UTC the next day.
    assert times == [_utc(2026, 6, 2, 2), _utc(2026, 6, 3, 2)]


# --- The API -----------------------------------------------------------------------------------------


def _body(persona, **overrides) -> dict:
    soon = timezone.now() + timedelta(hours=2)
    return {
        "persona_id": str(persona.pk),
        "phone_number": PHONE,
        "local_time": soon.strftime("%H:%M"),
        "weekdays": EVERY_DAY,
        "timezone": "UTC",
        "off_session_consent": True,
    } | overrides


def _error(response) -> str:
    return response.json()["error"]


def test_starting_a_series_books_the_next_day_with_an_off_session_hold(caller, caller_client, persona):
    response = caller_client.post("/api/calls/series", _body(persona), format="json")

    assert response.status_code == 201
    body = response.json()["series"]
    series = CallSeries.objects.get()
    assert body["id"] == str(series.pk)
    assert body["status"] == "active" and body["calls_booked"] == 1
    booking = ScheduledCall.objects.get()
    assert booking.series == series and booking.status == Status.SCHEDULED
    assert booking.authorization.off_session
    assert booking.authorization.call_type == PaymentAuthorization.CallType.SCHEDULED
    assert series.off_session_consent_at is not None
    assert body["next_call_at"] is not None


def test_a_series_booking_s_hold_is_reserved_for_it(caller, caller_client, persona):
    caller_client.post("/api/calls/series", _body(persona), format="json")

    hold = ScheduledCall.objects.get().authorization
    assert hold.reserved_for == PaymentAuthorization.ReservedFor.BOOKING


def test_a_series_needs_the_persons_consent_to_off_session_holds(caller_client, persona):
    response = caller_client.post("/api/calls/series", _body(persona, off_session_consent=False), format="json")

    assert response.status_code == 400
    assert response.json()["details"].keys() == {"off_session_consent"}
    assert not CallSeries.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": [0, 8]}, "weekdays"),
        ({"local_time": "25:00"}, "local_time"),
        ({"persona_id": "00000000-0000-0000-0000-000000000000"}, "persona_id"),
        ({"end_date": "2020-01-01"}, "end_date"),
        ({"max_calls": 0}, "max_calls"),
    ],
)
def test_invalid_series_input_is_a_validation_error(caller_client, persona, overrides, field):
    response = caller_client.post("/api/calls/series", _body(persona, **overrides), format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert not CallSeries.objects.exists()


def test_a_series_to_an_unverified_number_is_refused(caller_client, persona):
    response = caller_client.post("/api/calls/series", _body(persona, phone_number="+14155550199"), format="json")

    assert response.status_code == 403
    assert _error(response) == "PHONE_NOT_VERIFIED"


def test_booking_the_series_again_books_nothing_twice(caller, caller_client, persona):
    caller_client.post("/api/calls/series", _body(persona), format="json")

    assert recurring.series_book_all() == 0
    assert ScheduledCall.objects.count() == 1


def test_a_series_stops_booking_at_its_cap_and_ends(caller, caller_client, persona):
    caller_client.post("/api/calls/series", _body(persona, max_calls=1), format="json")

    made = recurring.series_book_all(now=timezone.now() + timedelta(days=1))

    assert made == 0
    series = CallSeries.objects.get()
    assert (series.calls_booked, series.status) == (1, CallSeries.Status.ENDED)


def test_a_declined_off_session_hold_leaves_a_payment_failed_booking_and_tells_the_person(
    caller,
    caller_client,
    persona,
    front,  # noqa: F811
    twilio,
    django_capture_on_commit_callbacks,
):
    decline = {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
    front.script_error("POST", "/v1/payment_intents", status=402, error=decline)
    mail.outbox = []

    with django_capture_on_commit_callbacks(execute=True):
        response = caller_client.post("/api/calls/series", _body(persona), format="json")

    assert response.status_code == 201
    booking = ScheduledCall.objects.get()
    assert booking.status == Status.PAYMENT_FAILED and booking.authorization is None
    assert any("could not hold the payment" in message.body for message in twilio.messages)
    assert [message.subject for message in mail.outbox] == ["Call Me Back: Your scheduled call needs a card"]


def test_pausing_cancels_upcoming_bookings_and_releases_their_holds(
    caller, caller_client, persona, django_capture_on_commit_callbacks
):
    series_id = caller_client.post("/api/calls/series", _body(persona), format="json").json()["series"]["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = caller_client.patch(f"/api/calls/series/{series_id}", {"status": "paused"}, format="json")

    assert response.status_code == 200
    assert response.json()["series"]["status"] == "paused"
    booking = ScheduledCall.objects.get()
    assert booking.status == Status.CANCELLED
    assert booking.authorization.status == PaymentAuthorization.Status.CANCELED


def test_resuming_books_again(caller, caller_client, persona):
    series_id = caller_client.post("/api/calls/series", _body(persona), format="json").json()["series"]["id"]
    caller_client.patch(f"/api/calls/series/{series_id}", {"status": "paused"}, format="json")

    response = caller_client.patch(f"/api/calls/series/{series_id}", {"status": "active"}, format="json")

    assert response.status_code == 200
    assert ScheduledCall.objects.filter(status=Status.SCHEDULED).count() == 1


def test_changing_the_time_moves_the_upcoming_booking(caller, caller_client, persona):
    series_id = caller_client.post("/api/calls/series", _body(persona), format="json").json()["series"]["id"]
    new_time = (timezone.now() + timedelta(hours=3)).strftime("%H:%M")

    response = caller_client.patch(f"/api/calls/series/{series_id}", {"local_time": new_time}, format="json")

    assert response.status_code == 200
    waiting = ScheduledCall.objects.get(status=Status.SCHEDULED)
    assert waiting.scheduled_time.strftime("%H:%M") == new_time
    assert ScheduledCall.objects.filter(status=Status.CANCELLED).count() == 1


def test_an_empty_change_is_a_validation_error(caller_client, persona):
    series_id = caller_client.post("/api/calls/series", _body(persona), format="json").json()["series"]["id"]

    response = caller_client.patch(f"/api/calls/series/{series_id}", {}, format="json")

    assert response.status_code == 400


def test_stopping_a_series_ends_it_and_cancels_its_bookings(caller, caller_client, persona):
    series_id = caller_client.post("/api/calls/series", _body(persona), format="json").json()["series"]["id"]

    response = caller_client.delete(f"/api/calls/series/{series_id}")

    assert response.status_code == 200
    assert CallSeries.objects.get().status == CallSeries.Status.ENDED
    assert ScheduledCall.objects.get().status == Status.CANCELLED


def test_an_edit_from_a_read_older_than_the_beat_keeps_the_calls_it_booked(caller, caller_client, persona):
    caller_client.post("/api/calls/series", _body(persona), format="json")
    read_before_the_beat = CallSeries.objects.get()
    assert recurring.series_book_all(now=timezone.now() + timedelta(days=1)) == 1

    recurring.series_update(series=read_before_the_beat, status=CallSeries.Status.ACTIVE)

    assert CallSeries.objects.get().calls_booked == 2


def test_an_edit_from_a_read_older_than_the_beat_does_not_revive_the_series_it_ended(caller, caller_client, persona):
    caller_client.post("/api/calls/series", _body(persona, max_calls=2), format="json")
    read_before_the_beat = CallSeries.objects.get()
    recurring.series_book_all(now=timezone.now() + timedelta(days=1))
    assert CallSeries.objects.get().status == CallSeries.Status.ENDED

    with pytest.raises(ValidationFailed):
        recurring.series_update(series=read_before_the_beat, local_time=time(6))

    series = CallSeries.objects.get()
    assert (series.status, series.calls_booked) == (CallSeries.Status.ENDED, 2)
    assert ScheduledCall.objects.filter(status=Status.SCHEDULED).count() == 2


def test_the_series_list_shows_only_ones_own(caller, caller_client, persona, user_factory):
    caller_client.post("/api/calls/series", _body(persona), format="json")

    assert len(caller_client.get("/api/calls/series").json()["series"]) == 1
    assert client_for(user_factory()).get("/api/calls/series").json() == {"series": []}


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_persons_series_is_not_found(caller_client, persona, user_factory, method):
    series_id = caller_client.post("/api/calls/series", _body(persona), format="json").json()["series"]["id"]
    stranger = client_for(user_factory())

    response = getattr(stranger, method)(f"/api/calls/series/{series_id}", {"status": "paused"}, format="json")

    assert response.status_code == 404
    assert CallSeries.objects.get().status == CallSeries.Status.ACTIVE
