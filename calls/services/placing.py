"""Placing a call: the rules every call obeys, the hold it reserves, its row created with
the hold attached (one active call per person, enforced by the database), then the dial."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import User
from accounts.validators import clean_callable_phone
from billing import pricing
from billing import selectors as billing_selectors
from billing import tasks as billing_tasks
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from callmeback.errors import ApplicationError, NotFound, ValidationFailed
from callmeback.logging import mask_phone
from callmeback.twilio import TwilioOutcomeUnknown, TwilioServiceError
from calls import gateways, selectors
from calls.gateways import call_status_rank
from calls.models import Call
from calls.services.caller_ids import caller_id_next
from calls.services.changes import call_changed
from calls.services.ending import call_hang_up
from calls.services.lifecycle import call_fail_undialled
from personas import selectors as persona_selectors
from personas import services as persona_services
from personas.models import Persona, ScenarioTemplate
from personas.validators import TextRule

logger = logging.getLogger(__name__)

T = TypeVar("T")

CALL_PRETEXT = TextRule("Call pretext", 0, 1000)


class PhoneNotVerified(ApplicationError):
    code = "PHONE_NOT_VERIFIED"
    status_code = 403
    default_message = "Verify this phone number before calling it."


class ConcurrentCalls(ApplicationError):
    code = "CONCURRENT_CALLS"
    status_code = 429
    default_message = "You are already in a call. Wait for it to end before placing another."


class PaymentRequired(ApplicationError):
    code = "PAYMENT_REQUIRED"
    status_code = 402
    default_message = "Authorise a payment for the call first (POST /api/user/create-payment-intent)."


def _callback_url(name: str, call: Call) -> str:
    """An absolute URL Twilio calls us at, built from SITE_URL; the call id lets a callback
    that overtakes our saving of the sid still find its call."""
    return f"{settings.SITE_URL}{reverse(name)}?call={call.pk}"


# --- The rules --------------------------------------------------------------------------------


def _clean_phone(phone_number: str) -> str:
    try:
        return clean_callable_phone(phone_number)
    except ValidationError as error:
        raise ValidationFailed.for_field("phone_number", error.messages[0]) from None


def _accessible(getter: Callable[..., T], field: str, label: str, **kwargs: Any) -> T:
    try:
        return getter(**kwargs)
    except NotFound:
        raise ValidationFailed.for_field(field, f"{label} not found.") from None


@dataclass(frozen=True)
class CallRequest:
    """What a call may be placed or booked with, once checked."""

    phone_number: str
    persona: Persona
    scenario_template: ScenarioTemplate | None
    call_pretext: str


def call_request_validate(
    *,
    user: User,
    phone_number: str,
    persona_id: object,
    scenario_template_id: object = None,
    call_pretext: str = "",
) -> CallRequest:
    """The rules every call obeys, whether placed now, booked, part of a series or re-checked
    at send time: a callable number the person verified, a persona and scenario they may
    use, a pretext within its limits."""
    number = _clean_phone(phone_number)
    persona = _accessible(
        persona_selectors.persona_get_visible, "persona_id", "Persona", persona_id=persona_id, viewer=user
    )
    scenario = None
    if scenario_template_id not in (None, ""):
        scenario = _accessible(
            persona_selectors.scenario_template_get_visible,
            "scenario_template_id",
            "Scenario template",
            template_id=scenario_template_id,
            viewer=user,
        )
    try:
        pretext = CALL_PRETEXT.clean(call_pretext or "")
    except ValidationError as error:
        raise ValidationFailed.for_field("call_pretext", error.messages[0]) from None
    if not account_selectors.phone_is_verified(user=user, phone=number):
        raise PhoneNotVerified()
    return CallRequest(phone_number=number, persona=persona, scenario_template=scenario, call_pretext=pretext)


def authorization_reserve(
    *, user: User, payment_intent_id: str, valid_until: datetime | None = None
) -> PaymentAuthorization:
    """The hold a new call or booking may take, locked until the caller's transaction ends:
    billing's rules (the person's own, held, unspent, long enough), and not reserved by a
    booking. Call on a hold and booking on a hold both take this lock first, so of two
    racing for one hold, the second sees what the first did and is refused. Stripe is not
    asked under the lock: run `authorization_prepare` before the transaction."""
    if not payment_intent_id:
        raise PaymentRequired()
    billing_selectors.authorization_for_user(user=user, payment_intent_id=payment_intent_id, for_update=True)
    authorization = billing_holds.authorization_check(
        user=user, payment_intent_id=payment_intent_id, valid_until=valid_until, refresh=False
    )
    if authorization.reserved_for == PaymentAuthorization.ReservedFor.BOOKING:
        raise ValidationFailed.for_field(
            "payment_intent_id", "This payment authorisation is reserved for a scheduled call."
        )
    return authorization


def authorization_prepare(*, user: User, payment_intent_id: str) -> None:
    """Before `authorization_reserve`'s transaction: a hold awaiting card authentication is
    read from Stripe now, with no lock held, so the reserve sees whether it was completed."""
    if payment_intent_id:
        billing_holds.authorization_refresh_pending(user=user, payment_intent_id=payment_intent_id)


# --- Placing ----------------------------------------------------------------------------------


def call_place(
    *,
    user: User,
    phone_number: str,
    persona_id: object,
    payment_intent_id: str,
    scenario_template_id: object = None,
    call_pretext: str = "",
) -> Call:
    """What `POST /api/call` does (`000_*` §2.2): validate, reserve the hold, create the call
    with its hold attached, dial."""
    request = call_request_validate(
        user=user,
        phone_number=phone_number,
        persona_id=persona_id,
        scenario_template_id=scenario_template_id,
        call_pretext=call_pretext,
    )
    return _place_on_hold(user=user, request=request, payment_intent_id=payment_intent_id)


def call_place_on_default_card(
    *,
    user: User,
    phone_number: str,
    persona_id: object,
    estimated_minutes: int,
    scenario_template_id: object = None,
    call_pretext: str = "",
) -> Call:
    """Holds the estimate for `estimated_minutes` on the default card, then places the call
    on that hold (the dashboard's "Call now"). What can be refused without Stripe is checked
    first; a hold the call did not take is released at once, so none is left behind."""
    request = call_request_validate(
        user=user,
        phone_number=phone_number,
        persona_id=persona_id,
        scenario_template_id=scenario_template_id,
        call_pretext=call_pretext,
    )
    if selectors.call_active(user=user) is not None:
        raise ConcurrentCalls()
    hold = billing_holds.authorization_create(user=user, estimated_duration=estimated_minutes).authorization
    try:
        return _place_on_hold(user=user, request=request, payment_intent_id=hold.payment_intent_id)
    except ApplicationError:
        if not Call.objects.filter(authorization=hold).exists():
            billing_tasks.release_authorization.delay(str(hold.pk))
        raise


def _place_on_hold(*, user: User, request: CallRequest, payment_intent_id: str) -> Call:
    authorization_prepare(user=user, payment_intent_id=payment_intent_id)
    with transaction.atomic():
        authorization = authorization_reserve(user=user, payment_intent_id=payment_intent_id)
        call = call_create(
            user=user,
            phone_number=request.phone_number,
            persona=request.persona,
            authorization=authorization,
            scenario_template=request.scenario_template,
            call_pretext=request.call_pretext,
        )
    return call_dial(call=call)


def call_create(
    *,
    user: User,
    phone_number: str,
    persona: Persona,
    authorization: PaymentAuthorization,
    scenario_template: ScenarioTemplate | None = None,
    call_pretext: str = "",
) -> Call:
    """The call row, its hold attached and the persona's use counted, in one transaction.
    A second active call for the person is refused by the database (429 CONCURRENT_CALLS)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                call = Call.objects.create(
                    user=user,
                    persona=persona,
                    persona_name=persona.name,
                    scenario_template=scenario_template,
                    call_pretext=call_pretext,
                    phone_number=phone_number,
                    authorization=authorization,
                    authorized_seconds=pricing.seconds_covered(authorization.amount_authorized),
                    recording_enabled=user.record_calls,
                )
        except IntegrityError as error:
            if "one_active_call_per_user" in str(error) or selectors.call_active(user=user) is not None:
                raise ConcurrentCalls() from None
            raise
        billing_holds.authorization_attach_call(authorization=authorization, call_id=call.pk)
        persona_services.persona_record_use(persona=persona)
        call_changed(call)
    logger.info("Call %s created for user %s to %s", call.pk, user.pk, mask_phone(phone_number))
    return call


def call_dial(*, call: Call) -> Call:
    """Asks Twilio to ring the person, once: the attempt is stamped and committed first, so no
    retry rings twice. A refusal (4xx) or no connection fails the call and releases its hold,
    then TWILIO_ERROR; an answer that never came (timeout, dropped connection, 5xx) leaves it
    initiated with its hold, its outcome unknown until the status callback or the sweeper."""
    try:
        with transaction.atomic():
            claimed = Call.objects.select_for_update().get(pk=call.pk)
            if claimed.dial_attempted_at or claimed.sid or not claimed.is_active:
                return claimed
            claimed.caller_id, claimed.dial_attempted_at = caller_id_next(), timezone.now()
            claimed.save(update_fields=["caller_id", "dial_attempted_at", "updated_at"])
        recording_callback = _callback_url("calls_webhooks:recording-status", call) if call.recording_enabled else None
        dialled = gateways.twilio_call_create(
            to=claimed.phone_number,
            from_=claimed.caller_id,
            answer_url=_callback_url("voice_api:answer", call),
            status_callback=_callback_url("calls_api:twilio-callback", call),
            time_limit=claimed.authorized_seconds,
            recording_status_callback=recording_callback,
        )
    except TwilioServiceError as error:
        unknown = isinstance(error, TwilioOutcomeUnknown) or getattr(error, "http_status", 0) >= 500
        if unknown:
            return _dial_unanswered(call)
        call_fail_undialled(call=call, reason=error.message)
        raise
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        sid_learned = not locked.sid
        if sid_learned:
            locked.sid = dialled.sid
        if call_status_rank(dialled.status) > call_status_rank(locked.twilio_status):
            locked.twilio_status = dialled.status
        locked.save(update_fields=["sid", "twilio_status", "updated_at"])
        call_changed(locked)
    logger.info("Dialled call %s (%s)", locked.pk, locked.sid)
    if sid_learned and locked.ended_by and locked.is_active:  # ended while the dial was in flight
        return call_hang_up(call_id=locked.pk, ended_by=locked.ended_by) or locked
    return locked


def _dial_unanswered(call: Call) -> Call:
    """Flags a dial Twilio never answered; the call keeps its hold until the outcome is known."""
    logger.warning("Call %s: Twilio did not answer the dial; its callback or the sweeper will", call.pk)
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if not locked.sid and locked.is_active:
            locked.dial_outcome_unknown = True
            locked.save(update_fields=["dial_outcome_unknown", "updated_at"])
            call_changed(locked)
    return locked
