"""Holds for booked calls are placed with no row lock held (claim, then act): while Stripe
handles the request, another connection can lock the booking or the series, and the hold's
intent is already committed. A retry after a lost answer adopts the hold Stripe placed, and a
booking cancelled while its new hold was being placed gets that hold released."""

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from billing.services import payment_methods, unused_holds
from callmeback.errors import ValidationFailed
from calls.scheduling import recurring, services
from calls.scheduling.models import CallSeries, ScheduledCall
from calls.services import placing
from tests.billing.conftest import row_lock_free
from tests.calls.conftest import PHONE
from tests.races import run_together
from tests.scheduling.helpers import book

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="Row locks need PostgreSQL (CI runs it)."),
]

Hold = PaymentAuthorization.Status
CREATE = ("POST", "/v1/payment_intents")


def _expiring_booking(caller, persona) -> ScheduledCall:
    """A booking whose hold ends before its call does: it must be re-authorised."""
    booking = book(caller, persona, minutes_ahead=50)
    PaymentAuthorization.objects.filter(pk=booking.authorization_id).update(
        expires_at=booking.scheduled_time - timedelta(minutes=1)
    )
    return booking


def _committed_intents(user) -> list[str]:
    """What another connection sees: the statuses of the person's holds being placed."""
    return list(PaymentAuthorization.objects.filter(user=user, status=Hold.CREATING).values_list("status", flat=True))


def test_re_authorisation_asks_stripe_with_the_booking_unlocked_and_its_intent_committed(caller, persona, front):
    booking = _expiring_booking(caller, persona)
    seen: list[tuple[bool, list[str]]] = []
    front.probe(*CREATE, lambda: seen.append((row_lock_free(ScheduledCall, pk=booking.pk), _committed_intents(caller))))

    services.booking_reauthorize(booking_id=booking.pk)

    assert seen == [(True, [Hold.CREATING])]
    booking.refresh_from_db()
    assert booking.authorization.status == Hold.REQUIRES_CAPTURE
    assert booking.authorization.idempotency_key.startswith(f"reauth-{booking.pk}-")


def test_a_re_authorisation_retried_after_a_lost_answer_adopts_the_hold_stripe_placed(
    caller, persona, front, localstripe
):
    booking = _expiring_booking(caller, persona)
    first_hold = booking.authorization
    creates_before = len(front.sent(*CREATE))
    front.lose_answer(*CREATE)

    services.booking_reauthorize(booking_id=booking.pk)  # Stripe placed it; the answer was lost

    booking.refresh_from_db()
    assert booking.authorization_id == first_hold.pk
    # The first attempt's turn runs out (its worker would have given up on Stripe by then).
    PaymentAuthorization.objects.filter(status=Hold.CREATING).update(
        stripe_call_started_at=timezone.now() - timedelta(hours=1)
    )
    services.booking_reauthorize(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.authorization.status == Hold.REQUIRES_CAPTURE
    assert len(front.sent(*CREATE)) == creates_before + 1  # asked once; the retry found it
    placed = [
        intent
        for intent in localstripe.get("/v1/payment_intents?limit=100")["data"]
        if intent["metadata"].get("authorization_id") == str(booking.authorization_id)
    ]
    assert [intent["id"] for intent in placed] == [booking.authorization.payment_intent_id]


def test_a_booking_cancelled_while_its_new_hold_is_placed_gets_that_hold_released(
    caller, persona, front, settings, django_capture_on_commit_callbacks
):
    settings.SCHEDULE_CANCEL_CUTOFF = timedelta(0)
    booking = _expiring_booking(caller, persona)
    front.probe(*CREATE, lambda: services.booking_cancel(booking_id=booking.pk, user=caller))

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_reauthorize(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == ScheduledCall.Status.CANCELLED
    statuses = set(PaymentAuthorization.objects.filter(user=caller).values_list("status", flat=True))
    assert statuses == {Hold.CANCELED}


def _series_body(persona) -> dict:
    soon = timezone.now() + timedelta(hours=2)
    return {
        "persona_id": persona.pk,
        "phone_number": PHONE,
        "local_time": soon.time(),
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "timezone_name": "UTC",
        "off_session_consent": True,
    }


def test_a_new_series_is_committed_with_its_first_intents_before_stripe_is_asked_and_not_locked(caller, persona, front):
    seen: list[tuple[bool, list[str]]] = []

    def check() -> None:
        series = CallSeries.objects.get(user=caller)  # committed: visible to another connection
        seen.append((row_lock_free(CallSeries, pk=series.pk), _committed_intents(caller)))

    front.probe(*CREATE, check)

    series = recurring.series_create(user=caller, **_series_body(persona))

    assert seen == [(True, [Hold.CREATING])]
    booking = ScheduledCall.objects.get(series=series)
    assert booking.authorization.status == Hold.REQUIRES_CAPTURE
    assert booking.authorization.reserved_for == PaymentAuthorization.ReservedFor.BOOKING


def test_the_beat_books_a_series_with_the_series_unlocked_while_stripe_places_the_hold(caller, persona, front):
    series = recurring.series_create(user=caller, **_series_body(persona))
    seen: list[bool] = []
    front.probe(*CREATE, lambda: seen.append(row_lock_free(CallSeries, pk=series.pk)))

    booked = recurring.series_book_upcoming(series=series, now=timezone.now() + timedelta(days=1))

    assert seen == [True]
    assert [booking.authorization.status for booking in booked] == [Hold.REQUIRES_CAPTURE]
    assert booked[0].authorization.idempotency_key.startswith(f"series-{series.pk}-")


def test_a_resumed_series_gets_a_fresh_hold_for_a_moment_whose_hold_was_released(
    caller, persona, settings, django_capture_on_commit_callbacks
):
    settings.SCHEDULE_CANCEL_CUTOFF = timedelta(0)
    series = recurring.series_create(user=caller, **_series_body(persona))
    with django_capture_on_commit_callbacks(execute=True):
        recurring.series_update(series=series, status=CallSeries.Status.PAUSED)
        recurring.series_update(series=series, status=CallSeries.Status.ACTIVE)

    live = ScheduledCall.objects.get(series=series, status=ScheduledCall.Status.SCHEDULED)
    assert live.authorization.status == Hold.REQUIRES_CAPTURE


def test_a_call_on_a_hold_that_just_passed_3ds_reads_stripe_with_the_hold_unlocked(
    caller, persona, make_card, front, localstripe
):
    three_d_secure = make_card("4000002500003155")
    payment_methods.payment_method_add(user=caller, payment_method_id=three_d_secure, set_as_default=True)
    hold = billing_holds.authorization_create(user=caller, estimated_duration=5).authorization
    assert hold.status == Hold.REQUIRES_ACTION
    localstripe.authenticate(hold.payment_intent_id, success=True)
    seen: list[bool] = []
    front.probe(
        "GET",
        f"/v1/payment_intents/{hold.payment_intent_id}",
        lambda: seen.append(row_lock_free(PaymentAuthorization, pk=hold.pk)),
    )

    call = placing.call_place(
        user=caller, phone_number=PHONE, persona_id=persona.pk, payment_intent_id=hold.payment_intent_id
    )

    assert seen and all(seen)
    hold.refresh_from_db()
    assert (hold.status, hold.call_id) == (Hold.REQUIRES_CAPTURE, call.pk)


def test_a_series_started_while_stripe_is_down_is_saved_and_the_beat_places_its_recorded_hold(caller, persona, front):
    front.script_error(*CREATE, status=500, error={"type": "api_error", "message": "down"})

    series = recurring.series_create(user=caller, **_series_body(persona))

    intent = PaymentAuthorization.objects.get(user=caller, status=Hold.CREATING)
    assert not ScheduledCall.objects.filter(series=series).exists()
    # The beat, once the failed attempt's turn has run out.
    PaymentAuthorization.objects.filter(pk=intent.pk).update(stripe_call_started_at=timezone.now() - timedelta(hours=1))
    recurring.series_book_all()

    booking = ScheduledCall.objects.get(series=series)
    assert booking.authorization_id == intent.pk
    assert booking.authorization.status == Hold.REQUIRES_CAPTURE


def test_the_sweeper_and_a_call_racing_for_an_unused_hold_never_both_take_it(caller, persona, hold):
    outcome: dict[str, object] = {}

    def sweep() -> None:
        outcome["released"] = unused_holds.authorizations_sweep_unattached(grace=timedelta(0))

    def call() -> None:
        try:
            outcome["call"] = placing.call_place(
                user=caller, phone_number=PHONE, persona_id=persona.pk, payment_intent_id=hold.payment_intent_id
            )
        except ValidationFailed:
            outcome["call"] = None

    run_together(sweep, call, timeout=60)

    hold.refresh_from_db()
    if outcome["call"] is None:
        assert (outcome["released"], hold.status, hold.call_id) == (1, Hold.CANCELED, None)
    else:
        assert (outcome["released"], hold.status, hold.call_id) == (0, Hold.REQUIRES_CAPTURE, outcome["call"].pk)
