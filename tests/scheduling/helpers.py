"""Shared set-up for the booked-call tests: bookings made through the service, then moved
in time (the clock of a test cannot wait five minutes)."""

from datetime import timedelta

from django.utils import timezone

from billing.services import holds as billing_holds
from calls.scheduling import dispatch, services
from calls.scheduling.models import ScheduledCall
from tests.calls.conftest import PHONE


def book(user, persona, *, minutes_ahead: int = 60, estimated_duration: int = 5, **overrides) -> ScheduledCall:
    """A booking made on a fresh hold, `minutes_ahead` from now."""
    authorization = billing_holds.authorization_create(
        user=user, estimated_duration=estimated_duration, call_type="scheduled"
    ).authorization
    arguments = {
        "user": user,
        "phone_number": PHONE,
        "persona_id": persona.pk,
        "scheduled_time": timezone.now() + timedelta(minutes=minutes_ahead),
        "payment_intent_id": authorization.payment_intent_id,
    } | overrides
    return services.booking_create(**arguments)


def make_due(booking: ScheduledCall, *, seconds_ago: float = 1) -> ScheduledCall:
    """Time passes: the booking's moment is now `seconds_ago` in the past."""
    ScheduledCall.objects.filter(pk=booking.pk).update(scheduled_time=timezone.now() - timedelta(seconds=seconds_ago))
    booking.refresh_from_db()
    return booking


def schedule_body(persona, hold, *, minutes_ahead: int = 60, **overrides) -> dict:
    when = timezone.now() + timedelta(minutes=minutes_ahead)
    return {
        "phone_number": PHONE,
        "persona_id": str(persona.pk),
        "scheduled_time": when.isoformat(),
        "payment_intent_id": hold.payment_intent_id,
    } | overrides


class Collected:
    """An `enqueue` for the sweeper that keeps what it was given instead of queueing it."""

    def __init__(self) -> None:
        self.results: list[dispatch.ClaimedBookings] = []

    def __call__(self, result: dispatch.ClaimedBookings) -> None:
        self.results.append(result)

    @property
    def dispatch(self) -> list:
        return [booking_id for result in self.results for booking_id in result.dispatch]
