"""The dispatcher of booked calls: the sweeper that claims due work, placing a claimed
booking's call, and redialling one whose worker died.

The booking row is the truth; the broker only carries short tasks. A beat sweeper claims
due rows with `SELECT … FOR UPDATE SKIP LOCKED` in a short transaction and enqueues work
after commit. The placing task moves `dispatching → placed` under the row lock in the
same transaction that creates the call row, so however many copies of the task run, the
booking gets one call; the dial happens after that commit. Claims carry a timestamp: one
whose worker died is claimed again after `SCHEDULE_CLAIM_TIMEOUT`.

A booking whose person is on another call is left unclaimed until that call ends (then the
next sweep takes it). Dials are paced to Twilio's calls-per-second limit (see `pacing`):
a sweep claims no more bookings than there are free dial slots, and each placing task
carries its slot's delay.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from billing import pricing
from billing.services import holds as billing_holds
from callmeback.errors import ApplicationError, ValidationFailed
from calls.models import Call
from calls.scheduling import pacing
from calls.scheduling.models import ScheduledCall
from calls.scheduling.services import (
    HOLD_CAPTURE_GRACE,
    close_without_call,
    local_time_text,
    notify_person,
    release_later,
)
from calls.services import lifecycle, placing

logger = logging.getLogger(__name__)

Status = ScheduledCall.Status


# --- The sweeper ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedBookings:
    """What one pass of the sweeper claimed: booking ids, by the work each is due for, and
    for each booking to place, in order, how many seconds from now its dial slot is."""

    dispatch: list[uuid.UUID]
    redial: list[uuid.UUID]
    reminders: list[uuid.UUID]
    reauthorizations: list[uuid.UUID]
    dispatch_delays: list[float]

    def __len__(self) -> int:
        return len(self.dispatch) + len(self.redial) + len(self.reminders) + len(self.reauthorizations)


def _claim_batch(
    queryset: QuerySet[ScheduledCall],
    *,
    field: str,
    now: datetime,
    extra: dict | None = None,
    limit: int | None = None,
) -> list[uuid.UUID]:
    """Locks up to a batch of rows nobody else holds, stamps the claim, and returns their ids."""
    limit = settings.SCHEDULE_SWEEP_BATCH if limit is None else min(limit, settings.SCHEDULE_SWEEP_BATCH)
    if limit <= 0:
        return []
    ids = list(
        queryset.select_for_update(skip_locked=True).order_by("scheduled_time").values_list("pk", flat=True)[:limit]
    )
    if ids:
        ScheduledCall.objects.filter(pk__in=ids).update(**{field: now}, **(extra or {}))
    return ids


def bookings_claim_due(*, now: datetime | None = None, enqueue: Callable[[ClaimedBookings], None]) -> ClaimedBookings:
    """One pass of the dispatcher: claims due bookings (and ones whose worker died), due
    reminders and due re-authorisations, each in its own short transaction, then hands the
    ids to `enqueue` after commit."""
    now = now or timezone.now()
    stale = now - settings.SCHEDULE_CLAIM_TIMEOUT
    with transaction.atomic():
        on_another_call = Call.objects.filter(user=OuterRef("user_id"), status__in=Call.ACTIVE)
        due = ScheduledCall.objects.filter(
            Q(status=Status.SCHEDULED) | Q(status=Status.DISPATCHING, dispatch_claimed_at__lt=stale),
            ~Exists(on_another_call),
            scheduled_time__lte=now,
        )
        dispatch = _claim_batch(
            due,
            field="dispatch_claimed_at",
            now=now,
            extra={"status": Status.DISPATCHING, "dispatch_attempts": F("dispatch_attempts") + 1},
            limit=pacing.dial_capacity(),
        )
    dispatch_delays = pacing.dial_delays_reserve(len(dispatch))
    with transaction.atomic():
        # Placed, but the worker died before it asked Twilio to ring: no dial attempt was
        # stamped. (One stamped with no answer is the call sweeper's to settle, never
        # redialled: Twilio may be ringing it.)
        undialled = ScheduledCall.objects.filter(
            Q(dispatch_claimed_at__lt=stale),
            status=Status.PLACED,
            placed_at__lt=stale,
            call__sid__isnull=True,
            call__dial_attempted_at__isnull=True,
            call__twilio_status="",
            call__status=Call.Status.INITIATED,
        )
        redial = _claim_batch(undialled, field="dispatch_claimed_at", now=now)
    with transaction.atomic():
        reminders_due = ScheduledCall.objects.filter(
            Q(reminder_sms_sent_at__isnull=True) | Q(reminder_email_sent_at__isnull=True),
            Q(reminder_claimed_at__isnull=True) | Q(reminder_claimed_at__lt=stale),
            status=Status.SCHEDULED,
            scheduled_time__gt=now,
            scheduled_time__lte=now + settings.SCHEDULE_REMINDER_LEAD,
        )
        reminders = _claim_batch(reminders_due, field="reminder_claimed_at", now=now)
    with transaction.atomic():
        reauth_due = ScheduledCall.objects.filter(
            Q(reauth_claimed_at__isnull=True) | Q(reauth_claimed_at__lt=stale),
            status=Status.SCHEDULED,
            scheduled_time__gt=now,
            scheduled_time__lte=now + settings.SCHEDULE_REAUTH_LEAD,
            authorization__expires_at__lt=F("scheduled_time")
            + (settings.SCHEDULE_LATE_CUTOFF + HOLD_CAPTURE_GRACE + timedelta(minutes=pricing.MAX_ESTIMATE_MINUTES)),
        )
        reauthorizations = _claim_batch(reauth_due, field="reauth_claimed_at", now=now)
    result = ClaimedBookings(
        dispatch=dispatch,
        redial=redial,
        reminders=reminders,
        reauthorizations=reauthorizations,
        dispatch_delays=dispatch_delays,
    )
    if len(result):
        enqueue(result)
    return result


def booking_dispatch_now(*, booking: ScheduledCall) -> bool:
    """Support's "dispatch now": moves a waiting booking's time to now so the next sweep
    places it. Returns whether the booking was still waiting."""
    now = timezone.now()
    return bool(
        ScheduledCall.objects.filter(pk=booking.pk, status=Status.SCHEDULED).update(scheduled_time=now, updated_at=now)
    )


# --- Placing ---------------------------------------------------------------------------------


# Why a booking checked again at send time may no longer ring, by the field that fails.
_NO_LONGER_ALLOWED = {
    "persona_id": "The persona is no longer available.",
    "scenario_template_id": "The scenario is no longer available.",
}


def _send_time_problem(booking: ScheduledCall) -> str:
    """Why this booking may no longer ring, checked at send time; empty when it may."""
    user = booking.user
    if not user.is_active:
        return "The account is closed."
    try:
        placing.call_request_validate(
            user=user,
            phone_number=booking.phone_number,
            persona_id=booking.persona_id,
            scenario_template_id=booking.scenario_template_id,
            call_pretext=booking.call_pretext,
        )
    except placing.PhoneNotVerified:
        return "The phone number is no longer verified."
    except ValidationFailed as error:
        return _NO_LONGER_ALLOWED.get(next(iter(error.details), ""), error.message)
    if booking.authorization is None:
        return "The call has no payment hold."
    try:
        billing_holds.authorization_check(
            user=user,
            payment_intent_id=booking.authorization.payment_intent_id,
            valid_until=timezone.now() + timedelta(minutes=booking.estimated_duration),
            refresh=False,  # under the booking's lock: no Stripe call (its hold is never awaiting 3-D Secure)
        )
    except ApplicationError as error:
        return error.message
    return ""


def booking_place(*, booking_id: uuid.UUID) -> ScheduledCall | None:
    """Places a claimed booking's call, once. Under the row lock: a booking not in
    `dispatching` was placed or finished by another copy of this task; one past the late
    cut-off is missed; one no longer allowed fails; otherwise the call row is created and
    the booking marked placed in one transaction. The dial follows the commit."""
    with transaction.atomic():
        booking = (
            ScheduledCall.objects.select_for_update(of=("self",))
            .select_related("user", "persona", "scenario_template", "authorization")
            .filter(pk=booking_id)
            .first()
        )
        if booking is None or booking.status != Status.DISPATCHING:
            return booking
        now = timezone.now()
        if now - booking.scheduled_time > settings.SCHEDULE_LATE_CUTOFF:
            close_without_call(booking, status=Status.MISSED, reason="We could not place the call on time.")
            release_later(booking.authorization)
            notify_person(
                booking=booking,
                subject="We missed your call",
                text=f"Sorry: your call with {booking.persona_name} at {local_time_text(booking)} could not "
                "be placed on time, so we did not call late. The hold on your card has been released.",
            )
            logger.warning("Booking %s missed, %s late", booking.pk, now - booking.scheduled_time)
            return booking
        problem = _send_time_problem(booking)
        if not problem:
            try:
                with transaction.atomic():
                    call = placing.call_create(
                        user=booking.user,
                        phone_number=booking.phone_number,
                        persona=booking.persona,
                        authorization=booking.authorization,
                        scenario_template=booking.scenario_template,
                        call_pretext=booking.call_pretext,
                    )
            except placing.ConcurrentCalls:
                # The person is on another call: back to waiting, so the first sweep after
                # that call ends places it (until the cut-off), not the claim timeout.
                booking.status = Status.SCHEDULED
                booking.dispatch_claimed_at = None
                booking.failure_reason = "You were on another call; retrying."
                booking.save(update_fields=["status", "dispatch_claimed_at", "failure_reason", "updated_at"])
                return booking
            except ApplicationError as error:
                problem = error.message
        if problem:
            close_without_call(booking, status=Status.FAILED, reason=problem)
            release_later(booking.authorization)
            notify_person(
                booking=booking,
                subject="Your scheduled call could not be placed",
                text=f"Your call with {booking.persona_name} at {local_time_text(booking)} was not placed: "
                f"{problem} The hold on your card has been released.",
            )
            return booking
        booking.call = call
        booking.status = Status.PLACED
        booking.placed_at = now
        booking.lateness_ms = int((now - booking.scheduled_time).total_seconds() * 1000)
        booking.failure_reason = ""
        booking.save(update_fields=["call", "status", "placed_at", "lateness_ms", "failure_reason", "updated_at"])
    _dial_placed_call(booking, call)
    return booking


def _dial_placed_call(booking: ScheduledCall, call: Call) -> None:
    try:
        placing.call_dial(call=call)
    except ApplicationError as error:
        # call_dial marked the call failed and released its hold.
        logger.warning("Dialling booking %s failed: %s", booking.pk, error.code)
        notify_person(
            booking=booking,
            subject="Your scheduled call could not be placed",
            text=f"The phone network refused your call with {booking.persona_name}. Nothing was charged.",
        )


def booking_redial(*, booking_id: uuid.UUID) -> ScheduledCall | None:
    """Dials a placed booking whose worker died between creating the call and dialling it,
    unless a dial was attempted since (its outcome is then the callback's or the sweeper's
    to find: redialling could ring twice) or it is now too late (then the call is failed,
    its hold released, and the booking missed). Claim, then act: the decision is taken
    under the booking's and the call's locks and committed; the dial (which stamps its own
    attempt under the call's lock, so two copies cannot both ring) and the release follow
    with no lock held."""
    with transaction.atomic():
        booking = (
            ScheduledCall.objects.select_for_update(of=("self",))
            .select_related("user", "call")
            .filter(pk=booking_id, status=Status.PLACED)
            .first()
        )
        if booking is None or booking.call is None:
            return booking
        call = Call.objects.select_for_update().get(pk=booking.call_id)
        if call.dial_attempted_at or call.sid or call.twilio_status or call.status != Call.Status.INITIATED:
            return booking
        late = timezone.now() - booking.scheduled_time > settings.SCHEDULE_LATE_CUTOFF
        if late:
            close_without_call(booking, status=Status.MISSED, reason="We could not place the call on time.")
            notify_person(
                booking=booking,
                subject="We missed your call",
                text=f"Sorry: your call with {booking.persona_name} at {local_time_text(booking)} could not "
                "be placed on time, so we did not call late. Nothing was charged.",
            )
        else:
            booking.dispatch_claimed_at = timezone.now()
            booking.save(update_fields=["dispatch_claimed_at", "updated_at"])
    if late:
        lifecycle.call_refresh_from_twilio(call=call)  # never dialled: failed, its hold released
    else:
        _dial_placed_call(booking, call)
    return booking
