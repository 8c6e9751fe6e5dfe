"""Every write for booked calls (`000_*` §2.3-2.5) and recurring series (`003_*`).

The booking row is the truth; the broker only carries short tasks. A beat sweeper claims
due rows with `SELECT … FOR UPDATE SKIP LOCKED` in a short transaction and enqueues work
after commit. The placing task moves `dispatching → placed` under the row lock in the
same transaction that creates the call row, so however many copies of the task run, the
booking gets one call; the dial happens after that commit. Claims carry a timestamp: one
whose worker died is claimed again after `SCHEDULE_CLAIM_TIMEOUT`.

Holds: a booking keeps the hold it was made with while that hold outlives the call; one
that ends sooner is replaced off-session `SCHEDULE_REAUTH_LEAD` before the call (the
person consented when booking), and then the first is released.
"""

import logging
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil import rrule
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tasks import send_email
from accounts.validators import clean_timezone
from billing import pricing
from billing import selectors as billing_selectors
from billing.errors import NoPaymentMethod, PaymentDeclined, StripeServiceError
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from callmeback import twilio
from callmeback.errors import ApplicationError, Forbidden, NotFound, ValidationFailed
from callmeback.logging import mask_phone
from calls import scheduling_selectors as selectors
from calls.models import Call, CallSeries, ScheduledCall
from calls.services import lifecycle, placing

logger = logging.getLogger(__name__)

Status = ScheduledCall.Status
# After its time, a hold must still pay for the late window, the talk and the capture.
HOLD_CAPTURE_GRACE = timedelta(hours=1)


class MaxScheduled(ApplicationError):
    code = "MAX_SCHEDULED"
    status_code = 429
    default_message = "You already have the maximum number of scheduled calls."


class CancellationDenied(ApplicationError):
    code = "CANCELLATION_DENIED"
    status_code = 400
    default_message = "This call is too close to its time to be cancelled."


class RefundFailed(ApplicationError):
    code = "REFUND_FAILED"
    status_code = 500
    default_message = "The call was cancelled but the hold on your card could not be released yet; we will retry."


# --- Shared checks --------------------------------------------------------------------------


def _check_time(scheduled_time: datetime, *, now: datetime) -> datetime:
    if timezone.is_naive(scheduled_time):
        raise ValidationFailed.for_field("scheduled_time", "Give the time with its UTC offset, e.g. 2024-01-02T15:00Z.")
    if scheduled_time < now + settings.SCHEDULE_MIN_LEAD:
        minutes = int(settings.SCHEDULE_MIN_LEAD.total_seconds() // 60)
        raise ValidationFailed.for_field("scheduled_time", f"Book at least {minutes} minutes ahead.")
    if scheduled_time > now + settings.SCHEDULE_MAX_AHEAD:
        raise ValidationFailed.for_field(
            "scheduled_time", f"Book at most {settings.SCHEDULE_MAX_AHEAD.days} days ahead."
        )
    return scheduled_time.astimezone(UTC)


def _ensure_room(*, user: User) -> None:
    """At most `SCHEDULE_MAX_ACTIVE` bookings waiting; the caller holds the user's row lock."""
    if selectors.booking_active_count(user=user) >= settings.SCHEDULE_MAX_ACTIVE:
        first = selectors.booking_next_active_time(user=user)
        wait = max(1, int((first - timezone.now()).total_seconds())) if first else 60
        raise MaxScheduled(
            f"You can have at most {settings.SCHEDULE_MAX_ACTIVE} scheduled calls waiting.", retry_after=wait
        )


def hold_needed_until(booking: ScheduledCall) -> datetime:
    """The hold must last past the latest moment the call may ring, its talk and the capture."""
    return (
        booking.scheduled_time
        + settings.SCHEDULE_LATE_CUTOFF
        + timedelta(minutes=booking.estimated_duration)
        + HOLD_CAPTURE_GRACE
    )


def estimated_cost(booking: ScheduledCall) -> float:
    """What the hold was sized for, in dollars (the spec's `estimated_cost`)."""
    return pricing.cents_to_dollars(pricing.estimate_cents(booking.estimated_duration))


# --- Telling the person ----------------------------------------------------------------------


def _dashboard_link() -> str:
    return f"{settings.SITE_URL}{reverse('scheduling:scheduled')}"


def _tell(*, booking: ScheduledCall, subject: str, text: str) -> None:
    """Texts and emails the person, after the current transaction commits. A failed text is
    logged; the email is the channel that retries."""
    user = booking.user
    phone = booking.phone_number
    body = f"{text}\n{_dashboard_link()}"

    def send() -> None:
        try:
            twilio.message_send(to=phone, body=f"Call Me Back: {body}", from_=settings.TWILIO_CALLER_ID)
        except twilio.TwilioServiceError:
            logger.warning("Could not text %s about booking %s", mask_phone(phone), booking.pk)
        send_email.delay(subject=f"Call Me Back: {subject}", body=body, to=user.email)

    transaction.on_commit(send)


def _release_later(authorization: PaymentAuthorization | None) -> None:
    """Releases a hold once the booking's new state is committed (the billing task retries)."""
    if authorization is None:
        return
    from billing.tasks import release_authorization

    authorization_id = str(authorization.pk)
    transaction.on_commit(lambda: release_authorization.delay(authorization_id))


def _local_time_text(booking: ScheduledCall) -> str:
    zone = zoneinfo.ZoneInfo(booking.user.timezone or "UTC")
    return f"{booking.scheduled_time.astimezone(zone):%a %d %b %H:%M} ({zone.key})"


# --- Booking ------------------------------------------------------------------------------------


def booking_create(
    *,
    user: User,
    phone_number: str,
    persona_id: object,
    scheduled_time: datetime,
    payment_intent_id: str,
    scenario_template_id: object | None = None,
    call_pretext: str = "",
) -> ScheduledCall:
    """Books a call (`000_*` §2.3) on a hold the person placed. A hold that ends before the
    call is kept and replaced off-session before the call, which booking consents to."""
    now = timezone.now()
    request = placing.call_request_validate(
        user=user,
        phone_number=phone_number,
        persona_id=persona_id,
        scenario_template_id=scenario_template_id,
        call_pretext=call_pretext,
    )
    when = _check_time(scheduled_time, now=now)
    with transaction.atomic():
        # The person's row lock serialises their bookings, so the limit holds under concurrency; a
        # no-key lock, so a call inserted for them meanwhile (a key-share lock) does not deadlock with it.
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        _ensure_room(user=user)
        authorization = placing.authorization_reserve(user=user, payment_intent_id=payment_intent_id)
        booking = ScheduledCall.objects.create(
            user=user,
            persona=request.persona,
            persona_name=request.persona.name,
            scenario_template=request.scenario_template,
            call_pretext=request.call_pretext,
            phone_number=request.phone_number,
            scheduled_time=when,
            authorization=authorization,
            estimated_duration=authorization.estimated_duration,
            off_session_consent_at=now,
        )
    logger.info("Booked call %s for user %s at %s", booking.pk, user.pk, when.isoformat())
    return booking


def booking_create_on_default_card(*, user: User, estimated_duration: int, **booking: object) -> ScheduledCall:
    """The dashboard's booking: holds the estimate on the default card now, then books on
    that hold. A booking refused after the hold was placed releases it at once."""
    created = billing_holds.authorization_create(
        user=user, estimated_duration=estimated_duration, call_type=PaymentAuthorization.CallType.SCHEDULED
    )
    authorization = created.authorization
    try:
        if authorization.status != PaymentAuthorization.Status.REQUIRES_CAPTURE:
            raise ValidationFailed.for_field(
                "payment_intent_id", "Your bank asks you to confirm this payment; use another card."
            )
        return booking_create(user=user, payment_intent_id=authorization.payment_intent_id, **booking)
    except ApplicationError:
        billing_holds.authorization_release(authorization=authorization)
        raise


def booking_cancel(*, booking_id: object, user: User) -> PaymentAuthorization | None:
    """Cancels the person's own booking (`000_*` §2.4) and releases its hold. Refused inside
    the cut-off, and whatever the dispatcher already claimed; the row lock decides which
    of a cancellation and a dispatch happens. Returns the released hold."""
    booking = selectors.booking_get(booking_id=booking_id)
    if booking is None:
        raise NotFound("Scheduled call not found.")
    if booking.user_id != user.pk:
        raise Forbidden("This scheduled call belongs to someone else.")
    with transaction.atomic():
        booking = ScheduledCall.objects.select_for_update().get(pk=booking.pk)
        if booking.status != Status.SCHEDULED:
            raise CancellationDenied(f"This call is {booking.get_status_display().lower()} and cannot be cancelled.")
        if booking.scheduled_time - timezone.now() < settings.SCHEDULE_CANCEL_CUTOFF:
            minutes = int(settings.SCHEDULE_CANCEL_CUTOFF.total_seconds() // 60)
            raise CancellationDenied(f"Calls cannot be cancelled less than {minutes} minutes before their time.")
        _finish(booking, status=Status.CANCELLED, reason="Cancelled by you.")
        booking.cancelled_at = timezone.now()
        booking.save(update_fields=["cancelled_at"])
    authorization = booking.authorization
    if authorization is None:
        return None
    try:
        return billing_holds.authorization_release(authorization=authorization)
    except StripeServiceError:
        # The hold stays claimed for release; billing's sweeper finishes it.
        logger.warning("Release of %s failed after cancelling booking %s", authorization.payment_intent_id, booking.pk)
        raise RefundFailed() from None


def _finish(booking: ScheduledCall, *, status: str, reason: str) -> None:
    """Moves a locked booking to a final state without a call."""
    booking.status = status
    booking.failure_reason = reason[:300]
    booking.save(update_fields=["status", "failure_reason", "updated_at"])


# --- The sweeper ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    dispatch: list[uuid.UUID]
    redial: list[uuid.UUID]
    reminders: list[uuid.UUID]
    reauthorizations: list[uuid.UUID]

    def __len__(self) -> int:
        return len(self.dispatch) + len(self.redial) + len(self.reminders) + len(self.reauthorizations)


def _claim(queryset, *, field: str, now: datetime, extra: dict | None = None) -> list[uuid.UUID]:
    """Locks up to a batch of rows nobody else holds, stamps the claim, and returns their ids."""
    ids = list(
        queryset.select_for_update(skip_locked=True)
        .order_by("scheduled_time")
        .values_list("pk", flat=True)[: settings.SCHEDULE_SWEEP_BATCH]
    )
    if ids:
        ScheduledCall.objects.filter(pk__in=ids).update(**{field: now}, **(extra or {}))
    return ids


def sweep(*, now: datetime | None = None, enqueue: Callable[[SweepResult], None]) -> SweepResult:
    """One pass of the dispatcher: claims due bookings (and ones whose worker died), due
    reminders and due re-authorisations, each in its own short transaction, then hands the
    ids to `enqueue` after commit."""
    now = now or timezone.now()
    stale = now - settings.SCHEDULE_CLAIM_TIMEOUT
    with transaction.atomic():
        due = ScheduledCall.objects.filter(
            Q(status=Status.SCHEDULED) | Q(status=Status.DISPATCHING, dispatch_claimed_at__lt=stale),
            scheduled_time__lte=now,
        )
        dispatch = _claim(
            due,
            field="dispatch_claimed_at",
            now=now,
            extra={"status": Status.DISPATCHING, "dispatch_attempts": F("dispatch_attempts") + 1},
        )
    with transaction.atomic():
        # Placed, but the worker died before Twilio heard of the call: Twilio reports every
        # call it creates to our callback (which records its sid) within seconds, so a call
        # with no sid and no report after the claim timeout was never dialled.
        undialled = ScheduledCall.objects.filter(
            Q(dispatch_claimed_at__lt=stale),
            status=Status.PLACED,
            placed_at__lt=stale,
            call__sid__isnull=True,
            call__twilio_status="",
            call__status=Call.Status.INITIATED,
        )
        redial = _claim(undialled, field="dispatch_claimed_at", now=now)
    with transaction.atomic():
        reminders_due = ScheduledCall.objects.filter(
            Q(reminder_sms_sent_at__isnull=True) | Q(reminder_email_sent_at__isnull=True),
            Q(reminder_claimed_at__isnull=True) | Q(reminder_claimed_at__lt=stale),
            status=Status.SCHEDULED,
            scheduled_time__gt=now,
            scheduled_time__lte=now + settings.SCHEDULE_REMINDER_LEAD,
        )
        reminders = _claim(reminders_due, field="reminder_claimed_at", now=now)
    with transaction.atomic():
        reauth_due = ScheduledCall.objects.filter(
            Q(reauth_claimed_at__isnull=True) | Q(reauth_claimed_at__lt=stale),
            status=Status.SCHEDULED,
            scheduled_time__gt=now,
            scheduled_time__lte=now + settings.SCHEDULE_REAUTH_LEAD,
            authorization__expires_at__lt=F("scheduled_time")
            + (settings.SCHEDULE_LATE_CUTOFF + HOLD_CAPTURE_GRACE + timedelta(minutes=pricing.MAX_ESTIMATE_MINUTES)),
        )
        reauthorizations = _claim(reauth_due, field="reauth_claimed_at", now=now)
    result = SweepResult(dispatch=dispatch, redial=redial, reminders=reminders, reauthorizations=reauthorizations)
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
            _finish(booking, status=Status.MISSED, reason="We could not place the call on time.")
            _release_later(booking.authorization)
            _tell(
                booking=booking,
                subject="We missed your call",
                text=f"Sorry: your call with {booking.persona_name} at {_local_time_text(booking)} could not "
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
                # The person is on another call: try again on a later sweep, until the cut-off.
                booking.failure_reason = "You were on another call; retrying."
                booking.save(update_fields=["failure_reason", "updated_at"])
                return booking
            except ApplicationError as error:
                problem = error.message
        if problem:
            _finish(booking, status=Status.FAILED, reason=problem)
            _release_later(booking.authorization)
            _tell(
                booking=booking,
                subject="Your scheduled call could not be placed",
                text=f"Your call with {booking.persona_name} at {_local_time_text(booking)} was not placed: "
                f"{problem} The hold on your card has been released.",
            )
            return booking
        booking.call = call
        booking.status = Status.PLACED
        booking.placed_at = now
        booking.lateness_ms = int((now - booking.scheduled_time).total_seconds() * 1000)
        booking.failure_reason = ""
        booking.save(update_fields=["call", "status", "placed_at", "lateness_ms", "failure_reason", "updated_at"])
    _dial(booking, call)
    return booking


def _dial(booking: ScheduledCall, call: Call) -> None:
    try:
        placing.call_dial(call=call)
    except ApplicationError as error:
        # call_dial marked the call failed and released its hold.
        logger.warning("Dialling booking %s failed: %s", booking.pk, error.code)
        _tell(
            booking=booking,
            subject="Your scheduled call could not be placed",
            text=f"The phone network refused your call with {booking.persona_name}. Nothing was charged.",
        )


def booking_redial(*, booking_id: uuid.UUID) -> ScheduledCall | None:
    """Dials a placed booking whose worker died between creating the call and dialling it,
    unless Twilio has reported on it since (then it was dialled) or it is now too late (then
    the call is failed, its hold released, and the booking missed). The booking's row lock
    keeps two copies of this task from dialling together."""
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
        if call.sid or call.twilio_status or call.status != Call.Status.INITIATED:
            return booking
        if timezone.now() - booking.scheduled_time > settings.SCHEDULE_LATE_CUTOFF:
            _finish(booking, status=Status.MISSED, reason="We could not place the call on time.")
            _tell(
                booking=booking,
                subject="We missed your call",
                text=f"Sorry: your call with {booking.persona_name} at {_local_time_text(booking)} could not "
                "be placed on time, so we did not call late. Nothing was charged.",
            )
            late = True
        else:
            late = False
            booking.dispatch_claimed_at = timezone.now()
            booking.save(update_fields=["dispatch_claimed_at", "updated_at"])
            _dial(booking, call)
    if late:
        lifecycle.call_refresh_from_twilio(call=call)
    return booking


# --- Reminders ------------------------------------------------------------------------------


def booking_remind(*, booking_id: uuid.UUID) -> ScheduledCall | None:
    """Sends the reminder text and email, each once: each is sent under the row lock and
    recorded in the same transaction, so a second copy of the task finds it sent."""
    for field, send in (("reminder_sms_sent_at", _remind_by_sms), ("reminder_email_sent_at", _remind_by_email)):
        with transaction.atomic():
            booking = (
                ScheduledCall.objects.select_for_update(of=("self",))
                .select_related("user")
                .filter(pk=booking_id)
                .first()
            )
            if booking is None or booking.status != Status.SCHEDULED or getattr(booking, field):
                continue
            send(booking)
            setattr(booking, field, timezone.now())
            booking.save(update_fields=[field, "updated_at"])
    return booking


def _reminder_text(booking: ScheduledCall) -> str:
    return f"Reminder: {booking.persona_name} calls you at {_local_time_text(booking)}."


def _remind_by_sms(booking: ScheduledCall) -> None:
    twilio.message_send(
        to=booking.phone_number, body=f"Call Me Back: {_reminder_text(booking)}", from_=settings.TWILIO_CALLER_ID
    )


def _remind_by_email(booking: ScheduledCall) -> None:
    send_email.delay(
        subject="Call Me Back: your call is coming up",
        body=f"{_reminder_text(booking)}\nManage your calls: {_dashboard_link()}",
        to=booking.user.email,
    )


# --- Re-authorisation ------------------------------------------------------------------------


def _off_session_hold(*, user: User, estimated_duration: int) -> tuple[PaymentAuthorization | None, str]:
    """A new hold on the default card placed while the person is away (they consented when
    booking), or why there is none. Stripe being unreachable raises StripeServiceError."""
    try:
        hold = billing_holds.authorization_create(
            user=user,
            estimated_duration=estimated_duration,
            call_type=PaymentAuthorization.CallType.SCHEDULED,
            off_session=True,
        ).authorization
    except (PaymentDeclined, NoPaymentMethod) as error:
        return None, error.message
    if hold.status != PaymentAuthorization.Status.REQUIRES_CAPTURE:
        _release_later(hold)
        return None, "Your bank asks you to confirm this payment."
    return hold, ""


def booking_reauthorize(*, booking_id: uuid.UUID) -> ScheduledCall | None:
    """Replaces a hold that ends before the call with a new off-session one on the default
    card, then releases the first. If the card refuses or needs the person, the booking
    becomes `payment_failed` and the person is told at once; no call is placed."""
    with transaction.atomic():
        booking = (
            ScheduledCall.objects.select_for_update(of=("self",))
            .select_related("user", "authorization")
            .filter(pk=booking_id)
            .first()
        )
        if booking is None or booking.status != Status.SCHEDULED:
            return booking
        old = booking.authorization
        held = old is not None and old.status == PaymentAuthorization.Status.REQUIRES_CAPTURE
        if held and old.expires_at >= hold_needed_until(booking):
            return booking
        try:
            new, problem = _off_session_hold(user=booking.user, estimated_duration=booking.estimated_duration)
        except StripeServiceError:
            logger.warning("Stripe unavailable re-authorising booking %s; will retry", booking.pk)
            return booking
        if new is None:
            _finish(booking, status=Status.PAYMENT_FAILED, reason=problem)
            _release_later(old)
            _tell(
                booking=booking,
                subject="Your scheduled call needs a card",
                text=f"We could not hold the payment for your call with {booking.persona_name} at "
                f"{_local_time_text(booking)}: {problem} The call will not be placed. Re-authorise and book again "
                "in the dashboard:",
            )
            return booking
        booking.authorization = new
        booking.reauthorized_at = timezone.now()
        booking.save(update_fields=["authorization", "reauthorized_at", "updated_at"])
        _release_later(old)
    logger.info("Re-authorised booking %s", booking.pk)
    return booking


# --- Recurring series ------------------------------------------------------------------------


def local_to_utc(local: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """A wall-clock time in `zone` as UTC. A time skipped by a clock change rings at the next
    minute that exists; a repeated one rings at its first occurrence (fold 0)."""
    candidate = local
    while True:
        aware = candidate.replace(tzinfo=zone, fold=0)
        utc = aware.astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == candidate:
            return utc
        candidate += timedelta(minutes=1)


def series_occurrences(*, series: CallSeries, after: datetime, before: datetime) -> list[datetime]:
    """The series' call times (UTC) in `(after, before]`, computed on the local wall clock
    with `dateutil.rrule`, so 07:00 stays 07:00 across daylight-saving changes."""
    zone = zoneinfo.ZoneInfo(series.timezone)
    start = datetime.combine(series.starts_on, series.local_time)
    until = datetime.combine(series.end_date, time.max) if series.end_date else None
    rule = rrule.rrule(
        rrule.WEEKLY,
        dtstart=start,
        byweekday=[day - 1 for day in sorted(series.weekdays)],
        until=until,
    )
    # Local search window one day wider than the UTC one on each side (offsets are < 1 day).
    local_after = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    local_before = before.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    times = [local_to_utc(local, zone) for local in rule.between(local_after, local_before, inc=True)]
    return [moment for moment in times if after < moment <= before]


def _clean_weekdays(weekdays: list[int]) -> list[int]:
    days = sorted(set(weekdays or []))
    if not days or any(not isinstance(day, int) or not 1 <= day <= 7 for day in days):
        raise ValidationFailed.for_field("weekdays", "Give one or more ISO weekdays, 1 (Monday) to 7 (Sunday).")
    return days


def _clean_timezone(name: str) -> str:
    try:
        return clean_timezone(name)
    except DjangoValidationError as error:
        raise ValidationFailed.for_field("timezone", error.messages[0]) from None


def series_create(
    *,
    user: User,
    persona_id: object,
    phone_number: str,
    local_time: time,
    weekdays: list[int],
    timezone_name: str,
    off_session_consent: bool,
    end_date: date | None = None,
    max_calls: int | None = None,
    estimated_duration: int = 5,
    scenario_template_id: object | None = None,
    call_pretext: str = "",
) -> CallSeries:
    """Starts a recurring series and books what falls within the next day. Each occurrence
    is held off-session on the default card, so the person's consent is required and recorded."""
    if not off_session_consent:
        raise ValidationFailed.for_field(
            "off_session_consent", "Agree to a hold being placed on your default card before each call."
        )
    request = placing.call_request_validate(
        user=user,
        phone_number=phone_number,
        persona_id=persona_id,
        scenario_template_id=scenario_template_id,
        call_pretext=call_pretext,
    )
    zone_name = _clean_timezone(timezone_name)
    if not pricing.MIN_ESTIMATE_MINUTES <= estimated_duration <= pricing.MAX_ESTIMATE_MINUTES:
        raise ValidationFailed.for_field("estimated_duration", "Between 1 and 30 minutes.")
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(zone_name)).date()
    if end_date is not None and end_date < today:
        raise ValidationFailed.for_field("end_date", "The end date has passed.")
    if max_calls is not None and max_calls < 1:
        raise ValidationFailed.for_field("max_calls", "At least one call.")
    if billing_selectors.default_payment_method(user=user) is None:
        raise NoPaymentMethod()
    series = CallSeries.objects.create(
        user=user,
        persona=request.persona,
        scenario_template=request.scenario_template,
        call_pretext=request.call_pretext,
        phone_number=request.phone_number,
        local_time=local_time.replace(second=0, microsecond=0),
        weekdays=_clean_weekdays(weekdays),
        timezone=zone_name,
        end_date=end_date,
        max_calls=max_calls,
        estimated_duration=estimated_duration,
        starts_on=today,
        off_session_consent_at=timezone.now(),
    )
    series_book_upcoming(series=series)
    return series


def series_update(
    *,
    series: CallSeries,
    status: str | None = None,
    local_time: time | None = None,
    weekdays: list[int] | None = None,
    timezone_name: str | None = None,
    end_date: date | None = None,
) -> CallSeries:
    """Pauses, resumes or re-times a series. Bookings it already made that no longer fit
    (all of them on pause) are cancelled and released, except those inside the cut-off."""
    if status is not None and status not in (CallSeries.Status.ACTIVE, CallSeries.Status.PAUSED):
        raise ValidationFailed.for_field("status", "Use active or paused.")
    if series.status == CallSeries.Status.ENDED:
        raise ValidationFailed.for_field("status", "This series has ended.")
    retimed = False
    if local_time is not None:
        series.local_time = local_time.replace(second=0, microsecond=0)
        retimed = True
    if weekdays is not None:
        series.weekdays = _clean_weekdays(weekdays)
        retimed = True
    if timezone_name is not None:
        series.timezone = _clean_timezone(timezone_name)
        retimed = True
    if end_date is not None:
        series.end_date = end_date
        retimed = True
    if status is not None:
        series.status = status
    series.save()
    if retimed or series.status == CallSeries.Status.PAUSED:
        _series_cancel_upcoming(series=series)
    if series.status == CallSeries.Status.ACTIVE:
        series_book_upcoming(series=series)
    return series


def series_end(*, series: CallSeries) -> CallSeries:
    """Stops a series for good; its bookings outside the cut-off are cancelled and released."""
    series.status = CallSeries.Status.ENDED
    series.save(update_fields=["status", "updated_at"])
    _series_cancel_upcoming(series=series)
    return series


def _series_cancel_upcoming(*, series: CallSeries) -> None:
    after = timezone.now() + settings.SCHEDULE_CANCEL_CUTOFF
    for booking in selectors.bookings_upcoming_for_series(series=series, after=after):
        with transaction.atomic():
            locked = ScheduledCall.objects.select_for_update().get(pk=booking.pk)
            if locked.status != Status.SCHEDULED:
                continue
            _finish(locked, status=Status.CANCELLED, reason="The series changed.")
            locked.cancelled_at = timezone.now()
            locked.save(update_fields=["cancelled_at"])
            CallSeries.objects.filter(pk=series.pk, calls_booked__gt=0).update(calls_booked=F("calls_booked") - 1)
            _release_later(locked.authorization)


def series_book_upcoming(*, series: CallSeries, now: datetime | None = None) -> list[ScheduledCall]:
    """Books the series' occurrences from the booking lead up to `SCHEDULE_SERIES_HORIZON`
    ahead, each once (a unique constraint on series and time), each with its own
    off-session hold. A hold the card refuses leaves a `payment_failed` booking and tells
    the person. A series past its end date or cap ends."""
    now = now or timezone.now()
    booked: list[ScheduledCall] = []
    times = series_occurrences(
        series=series, after=now + settings.SCHEDULE_MIN_LEAD, before=now + settings.SCHEDULE_SERIES_HORIZON
    )
    for moment in times:
        with transaction.atomic():
            locked = CallSeries.objects.select_for_update().select_related("user", "persona").get(pk=series.pk)
            if locked.status != CallSeries.Status.ACTIVE:
                break
            if locked.max_calls is not None and locked.calls_booked >= locked.max_calls:
                break
            taken = ScheduledCall.objects.filter(series=locked, scheduled_time=moment).exclude(status=Status.CANCELLED)
            if taken.exists():
                continue
            booked.append(_series_book_one(series=locked, moment=moment))
    series.refresh_from_db()
    _series_end_if_done(series=series, now=now)
    return booked


def _series_book_one(*, series: CallSeries, moment: datetime) -> ScheduledCall:
    """One occurrence as an ordinary booking (the caller holds the series' row lock)."""
    booking = ScheduledCall(
        user=series.user,
        persona=series.persona,
        persona_name=series.persona.name,
        scenario_template=series.scenario_template,
        call_pretext=series.call_pretext,
        phone_number=series.phone_number,
        scheduled_time=moment,
        series=series,
        estimated_duration=series.estimated_duration,
        off_session_consent_at=series.off_session_consent_at,
    )
    booking.authorization, problem = _off_session_hold(user=series.user, estimated_duration=series.estimated_duration)
    if problem:
        booking.status = Status.PAYMENT_FAILED
        booking.failure_reason = problem[:300]
    booking.save()
    CallSeries.objects.filter(pk=series.pk).update(calls_booked=F("calls_booked") + 1)
    if problem:
        _tell(
            booking=booking,
            subject="Your scheduled call needs a card",
            text=f"We could not hold the payment for your call with {booking.persona_name} at "
            f"{_local_time_text(booking)}: {problem} That call will not be placed. Re-authorise in the dashboard:",
        )
    return booking


def _series_end_if_done(*, series: CallSeries, now: datetime) -> None:
    capped = series.max_calls is not None and series.calls_booked >= series.max_calls
    past_end = bool(series.end_date) and not series_occurrences(
        series=series, after=now, before=now + settings.SCHEDULE_MAX_AHEAD
    )
    if series.status == CallSeries.Status.ACTIVE and (capped or past_end):
        CallSeries.objects.filter(pk=series.pk, status=CallSeries.Status.ACTIVE).update(status=CallSeries.Status.ENDED)
        series.refresh_from_db()


def series_book_all(*, now: datetime | None = None) -> int:
    """Beat: books the next day of every active series. Returns how many bookings were made;
    one series failing (Stripe down) does not stop the others."""
    made = 0
    for series in selectors.series_active():
        try:
            made += len(series_book_upcoming(series=series, now=now))
        except StripeServiceError:
            logger.warning("Stripe unavailable booking series %s; will retry", series.pk)
    return made
