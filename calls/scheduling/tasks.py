"""Celery tasks for booked calls: thin wrappers around the scheduling services, each safe to
run twice (the services decide under row locks, from the booking row).

Their names are their module paths (`calls.scheduling.tasks.<name>`), as every task of the
project is named; the beat schedule in `callmeback.settings` refers to them by those names."""

import logging

from celery import shared_task
from django.conf import settings

from billing.errors import StripeTemporaryError
from callmeback.twilio import TwilioServiceError
from calls.scheduling import dispatch, pacing, recurring, services

logger = logging.getLogger(__name__)


def _enqueue(claimed: dispatch.ClaimedBookings) -> None:
    batches = pacing.dial_batches(claimed.dispatch, claimed.dispatch_delays, largest=settings.SCHEDULE_PLACE_BATCH)
    for booking_ids, delay in batches:
        # Each batch waits for its slot under Twilio's calls-per-second limit (see pacing).
        place_bookings.apply_async(([str(booking_id) for booking_id in booking_ids],), countdown=delay or None)
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
def place_bookings(booking_ids: list[str]) -> list[str]:
    """Places claimed bookings' calls, one after the other. One that fails unexpectedly stays
    claimed (the sweeper claims it again after the claim timeout) and the others go on.
    Returns each booking's status."""
    statuses = []
    for booking_id in booking_ids:
        try:
            booking = dispatch.booking_place(booking_id=booking_id)
        except Exception:
            logger.exception("Placing booking %s failed; it is claimed again after the claim timeout", booking_id)
            statuses.append("error")
            continue
        statuses.append(booking.status if booking else "missing")
    return statuses


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
