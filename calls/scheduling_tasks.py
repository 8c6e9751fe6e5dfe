"""Celery tasks for booked calls: thin wrappers around `calls.scheduling`, each safe to run
twice (the services decide under row locks, from the booking row)."""

from celery import shared_task

from billing.errors import StripeTemporaryError
from callmeback.twilio import TwilioServiceError
from calls import scheduling


def _enqueue(result: scheduling.SweepResult) -> None:
    for booking_id in result.dispatch:
        place_booking.delay(str(booking_id))
    for booking_id in result.redial:
        redial_booking.delay(str(booking_id))
    for booking_id in result.reminders:
        remind_booking.delay(str(booking_id))
    for booking_id in result.reauthorizations:
        reauthorize_booking.delay(str(booking_id))


@shared_task(ignore_result=True)
def sweep() -> int:
    """Beat, every few seconds: claims due work and enqueues it. Returns how many bookings were claimed."""
    return len(scheduling.sweep(enqueue=_enqueue))


@shared_task(ignore_result=True)
def place_booking(booking_id: str) -> str:
    """Places one claimed booking's call. Returns the booking's status."""
    booking = scheduling.booking_place(booking_id=booking_id)
    return booking.status if booking else "missing"


@shared_task(ignore_result=True)
def redial_booking(booking_id: str) -> str:
    """Dials a placed booking whose worker died before Twilio heard of its call."""
    booking = scheduling.booking_redial(booking_id=booking_id)
    return booking.status if booking else "missing"


@shared_task(ignore_result=True, autoretry_for=(TwilioServiceError,), retry_backoff=True, max_retries=3)
def remind_booking(booking_id: str) -> str:
    booking = scheduling.booking_remind(booking_id=booking_id)
    return booking.status if booking else "missing"


@shared_task(ignore_result=True, autoretry_for=(StripeTemporaryError,), retry_backoff=True, max_retries=5)
def reauthorize_booking(booking_id: str) -> str:
    booking = scheduling.booking_reauthorize(booking_id=booking_id)
    return booking.status if booking else "missing"


@shared_task(ignore_result=True)
def book_series() -> int:
    """Beat: books the next day of every active series."""
    return scheduling.series_book_all()
