"""Every write for booked calls (`000_*` §2.3-2.5): booking, cancelling, reminders and
re-authorisation, and what the dispatcher (`dispatch`) and series (`series`) share with them:
closing a booking without a call, telling the person, releasing and taking holds.

Holds: a booking keeps the hold it was made with while that hold outlives the call; one
that ends sooner is replaced off-session `SCHEDULE_REAUTH_LEAD` before the call (the
person consented when booking), and then the first is released. A hold a booking takes is
marked reserved for it in billing, so no call placed now may spend it.
"""

import logging
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tasks import send_email
from billing import pricing
from billing.errors import NoPaymentMethod, PaymentDeclined, StripeServiceError
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from billing.tasks import release_authorization
from callmeback import twilio
from callmeback.errors import ApplicationError, Forbidden, NotFound, ValidationFailed
from callmeback.logging import mask_phone
from calls.scheduling import selectors
from calls.scheduling.models import ScheduledCall
from calls.services import placing

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


# --- Shared with dispatch and series: telling the person, closing, holds ---------------------


def _dashboard_link() -> str:
    return f"{settings.SITE_URL}{reverse('scheduling:scheduled')}"


def notify_person(*, booking: ScheduledCall, subject: str, text: str) -> None:
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


def release_later(authorization: PaymentAuthorization | None) -> None:
    """Releases a hold once the booking's new state is committed (the billing task retries)."""
    if authorization is None:
        return
    authorization_id = str(authorization.pk)
    transaction.on_commit(lambda: release_authorization.delay(authorization_id))


def local_time_text(booking: ScheduledCall) -> str:
    zone = zoneinfo.ZoneInfo(booking.user.timezone or "UTC")
    return f"{booking.scheduled_time.astimezone(zone):%a %d %b %H:%M} ({zone.key})"


def close_without_call(booking: ScheduledCall, *, status: str, reason: str) -> None:
    """Moves a locked booking to a final state without a call."""
    booking.status = status
    booking.failure_reason = reason[:300]
    booking.save(update_fields=["status", "failure_reason", "updated_at"])


def off_session_intent(*, user: User, estimated_duration: int, key: str) -> PaymentAuthorization:
    """Records the intent of a hold for a booking, placed while the person is away (they
    consented when booking), in the caller's transaction; `key` names it the same way on
    every retry. Raises NoPaymentMethod when there is no card to hold."""
    return billing_holds.authorization_intend(
        user=user,
        estimated_duration=estimated_duration,
        call_type=PaymentAuthorization.CallType.SCHEDULED,
        off_session=True,
        key=key,
    )


def off_session_place(intent: PaymentAuthorization) -> tuple[PaymentAuthorization | None, str]:
    """Asks Stripe for a recorded intent (call with no transaction open): the hold, or None
    and why there is none. A hold another worker is still placing comes back `creating`.
    Stripe being unreachable raises StripeServiceError (the intent stays for a retry)."""
    try:
        hold = billing_holds.authorization_place(authorization=intent).authorization
    except (PaymentDeclined, NoPaymentMethod) as error:
        return None, error.message
    if hold.status == PaymentAuthorization.Status.REQUIRES_ACTION:
        return hold, "Your bank asks you to confirm this payment."
    if hold.status == PaymentAuthorization.Status.FAILED:
        return None, PaymentDeclined.default_message
    if hold.status not in (PaymentAuthorization.Status.REQUIRES_CAPTURE, PaymentAuthorization.Status.CREATING):
        return None, "The hold on your card was released before it could be used."
    return hold, ""


def take_hold(hold: PaymentAuthorization | None, problem: str) -> tuple[PaymentAuthorization | None, str]:
    """Reserves a placed hold for the booking being saved (the caller's transaction), or
    says why it cannot be used; a hold that cannot be used is released once that commits."""
    taken = billing_holds.authorization_take_for_booking(authorization_id=hold.pk) if hold and not problem else None
    if taken is None:
        release_later(hold)
        return None, problem or "The hold on your card was released before it could be used."
    return taken, ""


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
    placing.authorization_prepare(user=user, payment_intent_id=payment_intent_id)
    with transaction.atomic():
        # The person's row lock serialises their bookings, so the limit holds under concurrency; a
        # no-key lock, so a call inserted for them meanwhile (a key-share lock) does not deadlock with it.
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        _ensure_room(user=user)
        authorization = placing.authorization_reserve(user=user, payment_intent_id=payment_intent_id)
        billing_holds.authorization_reserve_for_booking(authorization=authorization)
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
    that hold. What can be refused without Stripe (the time, the phone, the persona, the
    limit) is checked first, so a booking that cannot be made places no hold; one refused
    after the hold was placed releases it at once."""
    placing.call_request_validate(
        user=user,
        phone_number=booking["phone_number"],
        persona_id=booking["persona_id"],
        scenario_template_id=booking.get("scenario_template_id"),
        call_pretext=booking.get("call_pretext", ""),
    )
    _check_time(booking["scheduled_time"], now=timezone.now())
    _ensure_room(user=user)
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
        close_without_call(booking, status=Status.CANCELLED, reason="Cancelled by you.")
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


# --- Reminders ------------------------------------------------------------------------------


def booking_remind(*, booking_id: uuid.UUID) -> ScheduledCall | None:
    """Sends the reminder text and email, each once, with no row lock held while Twilio
    answers: the claim stamps both under the lock and commits (the email is queued on that
    commit), then the text goes out. A text Twilio refused is unstamped and raised, so the
    task's retry sends it; a worker that dies mid-text leaves it stamped, so a second worker
    or a retry never texts twice."""
    booking, text_claimed = booking_reminder_claim(booking_id=booking_id)
    if booking is None or not text_claimed:
        return booking
    try:
        _remind_by_sms(booking)
    except twilio.TwilioServiceError:
        ScheduledCall.objects.filter(pk=booking.pk, reminder_sms_sent_at=booking.reminder_sms_sent_at).update(
            reminder_sms_sent_at=None
        )
        raise
    return booking


def booking_reminder_claim(*, booking_id: uuid.UUID) -> tuple[ScheduledCall | None, bool]:
    """Stamps the reminders a waiting booking has not had yet, under its row lock, and
    queues the email for when that commits (a rolled-back claim sends nothing). Returns
    the booking and whether its text is the caller's to send."""
    with transaction.atomic():
        booking = (
            ScheduledCall.objects.select_for_update(of=("self",)).select_related("user").filter(pk=booking_id).first()
        )
        if booking is None or booking.status != Status.SCHEDULED:
            return booking, False
        now = timezone.now()
        claimed = [
            field for field in ("reminder_sms_sent_at", "reminder_email_sent_at") if getattr(booking, field) is None
        ]
        for field in claimed:
            setattr(booking, field, now)
        if claimed:
            booking.save(update_fields=[*claimed, "updated_at"])
        if "reminder_email_sent_at" in claimed:
            email = _reminder_email(booking)
            transaction.on_commit(lambda: send_email.delay(**email))
    return booking, "reminder_sms_sent_at" in claimed


def _reminder_text(booking: ScheduledCall) -> str:
    return f"Reminder: {booking.persona_name} calls you at {local_time_text(booking)}."


def _remind_by_sms(booking: ScheduledCall) -> None:
    twilio.message_send(
        to=booking.phone_number, body=f"Call Me Back: {_reminder_text(booking)}", from_=settings.TWILIO_CALLER_ID
    )


def _reminder_email(booking: ScheduledCall) -> dict[str, str]:
    return {
        "subject": "Call Me Back: your call is coming up",
        "body": f"{_reminder_text(booking)}\nManage your calls: {_dashboard_link()}",
        "to": booking.user.email,
    }


# --- Re-authorisation ------------------------------------------------------------------------


def booking_reauthorize(*, booking_id: uuid.UUID) -> ScheduledCall | None:
    """Replaces a hold that ends before the call with a new off-session one on the default
    card, then releases the first. If the card refuses or needs the person, the booking
    becomes `payment_failed` and the person is told at once; no call is placed.

    Claim, then act: the new hold's intent is recorded under the booking's lock with a key
    naming the booking and the hold it replaces (the same on every retry) and committed;
    Stripe is asked with no lock held; the answer is recorded under the lock again."""
    booking, intent = _reauthorization_claim(booking_id=booking_id)
    if intent is None:
        return booking
    try:
        hold, problem = off_session_place(intent)
    except StripeServiceError:
        logger.warning("Stripe unavailable re-authorising booking %s; will retry", booking_id)
        return booking
    if hold is not None and hold.status == PaymentAuthorization.Status.CREATING:
        return booking  # another worker is placing it and records the outcome
    return _reauthorization_record(
        booking_id=booking_id, replaced_id=booking.authorization_id, hold=hold, problem=problem
    )


def _reauthorization_claim(*, booking_id: uuid.UUID) -> tuple[ScheduledCall | None, PaymentAuthorization | None]:
    """Under the booking's lock: whether its hold needs replacing, and if so the new hold's
    intent, recorded with the booking's replacement key (a card-less person fails the booking here)."""
    with transaction.atomic():
        booking = (
            ScheduledCall.objects.select_for_update(of=("self",))
            .select_related("user", "authorization")
            .filter(pk=booking_id)
            .first()
        )
        if booking is None or booking.status != Status.SCHEDULED:
            return booking, None
        old = booking.authorization
        held = old is not None and old.status == PaymentAuthorization.Status.REQUIRES_CAPTURE
        if held and old.expires_at >= hold_needed_until(booking):
            return booking, None
        try:
            intent = off_session_intent(
                user=booking.user,
                estimated_duration=booking.estimated_duration,
                key=f"reauth-{booking.pk}-{old.pk if old else 'none'}",
            )
        except NoPaymentMethod as error:
            _reauthorization_failed(booking, problem=error.message)
            return booking, None
    return booking, intent


def _reauthorization_record(
    *, booking_id: uuid.UUID, replaced_id: uuid.UUID | None, hold: PaymentAuthorization | None, problem: str
) -> ScheduledCall | None:
    """Under the booking's lock again: attaches the new hold and releases the old one, or
    fails the booking. A booking cancelled or re-authorised meanwhile keeps what it has and
    the new hold is released."""
    with transaction.atomic():
        booking = (
            ScheduledCall.objects.select_for_update(of=("self",))
            .select_related("user", "authorization")
            .filter(pk=booking_id)
            .first()
        )
        if booking is None or booking.status != Status.SCHEDULED or booking.authorization_id != replaced_id:
            release_later(hold)
            return booking
        hold, problem = take_hold(hold, problem)
        if hold is None:
            _reauthorization_failed(booking, problem=problem)
            return booking
        old = booking.authorization
        booking.authorization = hold
        booking.reauthorized_at = timezone.now()
        booking.save(update_fields=["authorization", "reauthorized_at", "updated_at"])
        release_later(old)
    logger.info("Re-authorised booking %s", booking.pk)
    return booking


def _reauthorization_failed(booking: ScheduledCall, *, problem: str) -> None:
    """Closes a locked booking whose hold could not be replaced, releases the old hold and tells the person."""
    close_without_call(booking, status=Status.PAYMENT_FAILED, reason=problem)
    release_later(booking.authorization)
    notify_person(
        booking=booking,
        subject="Your scheduled call needs a card",
        text=f"We could not hold the payment for your call with {booking.persona_name} at "
        f"{local_time_text(booking)}: {problem} The call will not be placed. Re-authorise and book again "
        "in the dashboard:",
    )
