"""Celery tasks for booked calls: thin wrappers around the scheduling services, each safe to
run twice (the services decide under row locks, from the booking row).

Their names are their module paths (`calls.scheduling.tasks.<name>`), as every task of the
project is named; the beat schedule in `callmeback.settings` refers to them by those names."""

from celery import shared_task

from billing.errors import StripeTemporaryError
from callmeback.twilio import TwilioServiceError
from calls.scheduling import dispatch, recurring, services


def _enqueue(claimed: dispatch.ClaimedBookings) -> None:
    for booking_id, delay in zip(claimed.dispatch, claimed.dispatch_delays, strict=True):
        # Each dial waits for its slot under Twilio's calls-per-second limit (see pacing).
        place_booking.apply_async((str(booking_id),), countdown=delay or None)
    for booking_id in claimed.redial:
        redial_booking.delay(str(booking_id))
    for booking_id in claimed.reminders:
        remind_booking.delay(str(booking_id))
    for booking_id in claimed.reauthorizations:
        reauthorize_booking.delay(str(booking_id))


@shared_task(ignore_result=True)
def claim_due_bookings() -> int:
    """Beat, every few seconds: claims due work and enqueues it. Returns how many bookings were claimed."""
    return len(dispatch.bookings_claim_due(enqueue=_enqueue))


@shared_task(ignore_result=True)
def place_booking(booking_id: str) -> str:
    """Places one claimed booking's call. Returns the booking's status."""
    booking = dispatch.booking_place(booking_id=booking_id)
    return booking.status if booking else "missing"


@shared_task(ignore_result=True)
def redial_booking(booking_id: str) -> str:
    """Dials a placed booking whose worker died before Twilio heard of its call."""
    booking = dispatch.booking_redial(booking_id=booking_id)
    return booking.status if booking else "missing"


@shared_task(ignore_result=True, autoretry_for=(TwilioServiceError,), retry_backoff=True, max_retries=3)
def remind_booking(booking_id: str) -> str:
    booking = services.booking_remind(booking_id=booking_id)
    return booking.status if booking else "missing"


@shared_task(ignore_result=True, autoretry_for=(StripeTemporaryError,), retry_backoff=True, max_retries=5)
def reauthorize_booking(booking_id: str) -> str:
    booking = services.booking_reauthorize(booking_id=booking_id)
    return booking.status if booking else "missing"


@shared_task(ignore_result=True)
def book_series() -> int:
    """Beat: books the next day of every active series."""
    return recurring.series_book_all()
