"""Every write about calls: placing one, following Twilio's reports, ending it, settling its
hold, its recording and feedback.

Money: a call is created in the same transaction that attaches its hold, so no hold is
spent twice and no call runs without one. Its cost is fixed once, in the transaction that
records its terminal status, and the hold is settled after commit by billing's task,
which moves money at most once however many callbacks, sweeps or workers ask. Twilio
failing at dial releases the hold at once; the sweeper settles anything left behind.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import User
from accounts.validators import clean_callable_phone
from billing import pricing
from billing import selectors as billing_selectors
from billing import services as billing_services
from billing import tasks as billing_tasks
from billing.errors import StripeServiceError
from billing.models import PaymentAuthorization
from callmeback import cache
from callmeback.errors import ApplicationError, NotFound, ValidationFailed
from callmeback.logging import mask_phone
from calls import selectors, twilio
from calls.models import Call, CallerIdNumber, CallFeedback, CallRecording
from personas import selectors as persona_selectors
from personas import services as persona_services
from personas.models import Persona, ScenarioTemplate
from personas.validators import TextRule

logger = logging.getLogger(__name__)

T = TypeVar("T")

CALL_PRETEXT = TextRule("Call pretext", 0, 1000)
FEEDBACK_TEXT = TextRule("Feedback", 0, 2000)
RECORDING_LINK_SALT = "calls.recording-link"

# Twilio's CallStatus, in the order a call goes through them; terminal ones share the last rank.
_TWILIO_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3}
_TERMINAL_RANK = 4
_FAILURE_MESSAGES = {
    "busy": "The line was busy.",
    "no-answer": "Nobody answered.",
    "canceled": "The call was cancelled before it was answered.",
    "failed": "The call could not be connected.",
}
TERMINAL_STATUSES = ("completed", *_FAILURE_MESSAGES)


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


def _rank(twilio_status: str) -> int:
    return _TWILIO_RANK.get(twilio_status, _TERMINAL_RANK if twilio_status in TERMINAL_STATUSES else -1)


def _callback_url(name: str, call: Call) -> str:
    """An absolute URL Twilio calls us at, built from SITE_URL; the call id lets a callback
    that overtakes our saving of the sid still find its call."""
    return f"{settings.SITE_URL}{reverse(name)}?call={call.pk}"


def _changed(call: Call) -> None:
    """After any change to a call: the owner's cached history goes, and listeners hear of it."""
    cache.bump(selectors.calls_scope(call.user_id))
    transaction.on_commit(lambda: call_notify(call))


def call_notify(call: Call) -> None:
    """Tells the call's channel-layer group (the dashboard, the live voice consumer) its status."""
    _group_send(
        call,
        {
            "type": "call.status",
            "call_id": str(call.pk),
            "status": call.status,
            "twilio_status": call.twilio_status,
            "duration": call.duration,
            "cost": pricing.cents_to_dollars(call.cost_cents) if call.cost_cents is not None else None,
            "error_message": call.error_message or None,
        },
    )


def call_group(call_id: uuid.UUID) -> str:
    return f"call-{call_id}"


def _group_send(call: Call, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(call_group(call.pk), message)
    except Exception:  # a notification is best effort; the record is already right
        logger.warning("Could not notify listeners of call %s", call.pk, exc_info=True)


# --- Placing a call ---------------------------------------------------------------------------


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
    racing for one hold, the second sees what the first did and is refused."""
    if not payment_intent_id:
        raise PaymentRequired()
    billing_selectors.authorization_for_user(user=user, payment_intent_id=payment_intent_id, for_update=True)
    authorization = billing_services.authorization_check(
        user=user, payment_intent_id=payment_intent_id, valid_until=valid_until
    )
    if authorization.reserved_for == PaymentAuthorization.ReservedFor.BOOKING:
        raise ValidationFailed.for_field(
            "payment_intent_id", "This payment authorisation is reserved for a scheduled call."
        )
    return authorization


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


def _place_on_hold(*, user: User, request: CallRequest, payment_intent_id: str) -> Call:
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
            if "one_active_call_per_user" in str(error) or _has_active_call(user):
                raise ConcurrentCalls() from None
            raise
        billing_services.authorization_attach_call(authorization=authorization, call_id=call.pk)
        persona_services.persona_record_use(persona=persona)
        _changed(call)
    logger.info("Call %s created for user %s to %s", call.pk, user.pk, mask_phone(phone_number))
    return call


def _has_active_call(user: User) -> bool:
    return Call.objects.filter(user=user, status__in=Call.ACTIVE).exists()


def _caller_id() -> str:
    """The next number of the pool, round-robin, else `TWILIO_CALLER_ID`."""
    with transaction.atomic():
        number = selectors.caller_id_next_locked()
        if number is not None:
            number.last_used_at = timezone.now()
            number.save(update_fields=["last_used_at"])
            return number.phone_number
    if not settings.TWILIO_CALLER_ID:
        raise twilio.TwilioServiceError("No caller ID is configured for outgoing calls.")
    return settings.TWILIO_CALLER_ID


def call_dial(*, call: Call) -> Call:
    """Asks Twilio to ring the person. If Twilio refuses or cannot be reached, the call is
    marked failed with the reason and its hold released at once; then TWILIO_ERROR."""
    try:
        caller_id = _caller_id()
        recording_callback = _callback_url("calls_webhooks:recording-status", call) if call.recording_enabled else None
        dialled = twilio.call_create(
            to=call.phone_number,
            from_=caller_id,
            answer_url=_callback_url("voice_api:answer", call),
            status_callback=_callback_url("calls_api:twilio-callback", call),
            time_limit=call.authorized_seconds,
            recording_status_callback=recording_callback,
        )
    except twilio.TwilioServiceError as error:
        _fail_undialled(call, error.message)
        raise
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        locked.caller_id = caller_id
        if not locked.sid:
            locked.sid = dialled.sid
        if _rank(dialled.status) > _rank(locked.twilio_status):
            locked.twilio_status = dialled.status
        locked.save(update_fields=["caller_id", "sid", "twilio_status", "updated_at"])
        _changed(locked)
    logger.info("Dialled call %s (%s)", locked.pk, locked.sid)
    return locked


def _fail_undialled(call: Call, reason: str) -> None:
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        locked.status = Call.Status.FAILED
        locked.error_message = reason[:500]
        locked.ended_by = Call.EndedBy.SYSTEM
        locked.end_time = timezone.now()
        locked.cost_cents = 0
        locked.save()
        _changed(locked)
    call.refresh_from_db()
    _release_now(call)


def _release_now(call: Call) -> None:
    """Releases the hold of a call that never rang; a Stripe outage leaves it to the task's retries."""
    if call.authorization_id is None:
        return
    try:
        billing_services.authorization_release(authorization=call.authorization)
    except StripeServiceError:
        logger.warning("Could not release the hold of call %s now; queued", call.pk)
        billing_tasks.release_authorization.delay(str(call.authorization_id))


# --- Twilio's reports ---------------------------------------------------------------------------


def _timestamp(params: dict) -> datetime | None:
    raw = params.get("Timestamp")
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None


def _int_param(params: dict, name: str) -> int | None:
    try:
        value = int(params.get(name, ""))
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def _find_for_update(*, sid: str, call_id: object) -> Call | None:
    """The call a report is about, locked: by its sid, or by our id when the report overtook
    our saving of the sid."""
    call = Call.objects.select_for_update().filter(sid=sid).first() if sid else None
    if call is None and call_id:
        try:
            parsed = uuid.UUID(str(call_id))
        except ValueError:
            return None
        call = Call.objects.select_for_update().filter(pk=parsed).first()
        if call is not None and call.sid and call.sid != sid:
            return None
    return call


def call_apply_status(*, sid: str, params: dict, call_id: object = None) -> Call | None:
    """Applies one status report from Twilio (the callback, or the sweeper's fetch).

    Reports come twice, late and out of order: the record only ever moves forward (by
    Twilio's SequenceNumber and the status order), and a finished call never changes. The
    terminal report fixes duration, times and cost in one transaction; after commit the
    hold is captured for the real duration, or released for a call that never connected.
    """
    new_status = params.get("CallStatus", "")
    if _rank(new_status) < 0:
        raise ValidationFailed.for_field("CallStatus", "Unknown call status.")
    sequence = _int_param(params, "SequenceNumber")
    with transaction.atomic():
        call = _find_for_update(sid=sid, call_id=call_id)
        if call is None:
            return None
        learned_sid = not call.sid and bool(sid)
        if learned_sid:
            call.sid = sid
        stale = sequence is not None and sequence <= call.twilio_sequence
        if call.status in Call.FINISHED or stale or _rank(new_status) <= _rank(call.twilio_status):
            if learned_sid:
                call.save(update_fields=["sid", "updated_at"])
            return call
        moment = _timestamp(params) or timezone.now()
        call.twilio_status = new_status
        if sequence is not None:
            call.twilio_sequence = sequence
        if new_status == "in-progress":
            call.status = Call.Status.IN_PROGRESS
            call.start_time = call.start_time or moment
        elif _rank(new_status) == _TERMINAL_RANK:
            _finish(call, params, moment)
        call.save()
        _changed(call)
        if call.status in Call.FINISHED:
            _settle_after_commit(call)
    return call


def _finish(call: Call, params: dict, moment: datetime) -> None:
    """Terminal report: status, times, duration and what it costs (the caller saves)."""
    status = params.get("CallStatus")
    call.live_stream_sid = ""  # a stream's server that died never cleared it
    duration = _int_param(params, "CallDuration") or 0
    if status == "completed" and (duration or call.start_time):
        call.status = Call.Status.COMPLETED
        call.duration = duration
        call.end_time = moment
        call.start_time = call.start_time or moment - timedelta(seconds=duration)
        held = call.authorization.amount_authorized if call.authorization_id else 0
        call.cost_cents = min(pricing.call_cost_cents(duration), held) if duration else 0
        if not call.ended_by:
            reached_limit = call.authorized_seconds and duration >= call.authorized_seconds
            call.ended_by = Call.EndedBy.TIME_LIMIT if reached_limit else Call.EndedBy.CALLEE
    else:
        call.status = Call.Status.FAILED
        call.end_time = moment
        call.duration = 0
        call.cost_cents = 0
        call.error_message = call.error_message or _FAILURE_MESSAGES.get(status, "Nobody answered.")
    price = twilio.parse_price(params.get("Price"))
    if price is not None:
        call.provider_cost = price
        call.provider_cost_unit = (params.get("PriceUnit") or "USD")[:3].upper()


def _settle_after_commit(call: Call) -> None:
    """Queues the capture of what the call cost (0 s releases the hold) once the status is saved."""
    if call.authorization_id is None:
        return
    authorization_id, seconds = str(call.authorization_id), call.duration or 0
    transaction.on_commit(lambda: billing_tasks.capture_authorization.delay(authorization_id, seconds))


def call_refresh_from_twilio(*, call: Call) -> Call | None:
    """Asks Twilio how a call is doing and applies the answer as a report (the sweeper)."""
    if not call.sid:
        with transaction.atomic():
            locked = Call.objects.select_for_update().get(pk=call.pk)
            if locked.status in Call.FINISHED or locked.sid:
                return locked
        _fail_undialled(call, "The call was never dialled.")
        return Call.objects.get(pk=call.pk)
    try:
        data = twilio.call_fetch(sid=call.sid)
    except twilio.TwilioRequestRejected as error:
        if not error.is_missing:
            raise
        return call_apply_status(sid=call.sid, params={"CallStatus": "failed"})
    params = {"CallStatus": data.status}
    if data.duration is not None:
        params["CallDuration"] = str(data.duration)
    if data.price is not None:
        params["Price"], params["PriceUnit"] = str(data.price), data.price_unit
    if data.end_time is not None:
        params["Timestamp"] = data.end_time.strftime("%a, %d %b %Y %H:%M:%S %z")
    if data.status in TERMINAL_STATUSES:
        return call_apply_status(sid=call.sid, params=params)
    # Twilio says it is still going past its time limit: hang up, the callback follows.
    twilio.call_hang_up(sid=call.sid, ringing=_rank(data.status) < _TWILIO_RANK["in-progress"])
    return call


def calls_sweep(*, now: datetime | None = None) -> int:
    """Finishes calls Twilio never reported on, and settles holds of finished calls whose
    settlement was lost. Returns how many calls it acted on."""
    now = now or timezone.now()
    acted = 0
    grace = timedelta(seconds=settings.CALL_SWEEP_GRACE_SECONDS)
    for call in selectors.calls_unreported(now=now, grace=grace):
        try:
            call_refresh_from_twilio(call=call)
            acted += 1
        except twilio.TwilioServiceError:
            logger.warning("Could not fetch call %s from Twilio; will retry", call.pk)
    for call in selectors.calls_finished_unsettled():
        if call.updated_at < now - grace:
            billing_tasks.capture_authorization.delay(str(call.authorization_id), call.duration or 0)
            acted += 1
    return acted


# --- Ending, recordings, feedback ----------------------------------------------------------------


def call_end(*, call: Call, ended_by: str = Call.EndedBy.USER) -> Call:
    """A person (the app, the dashboard) or an admin ends a call; ending it again changes nothing.

    On a live media stream the persona says a short goodbye first: the stream's consumer is
    asked to (`call.hangup` on the call's group) and hangs up at Twilio once the goodbye has
    been heard. A safety net hangs up `CALL_GOODBYE_TIMEOUT_SECONDS` later whatever happened
    to the stream (a restarted server). Until then the call stays in progress, as it is.
    A call not yet answered, or answered with no stream, is hung up at once. Either way
    Twilio's completed callback then finishes the call and settles its hold.
    """
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if not locked.is_active:
            return locked
        first_request = _record_ender(locked, ended_by)
        if locked.live_stream_sid:
            if first_request:
                transaction.on_commit(lambda: _say_goodbye(locked))
            return locked
    return _hang_up_at_twilio(locked)


def call_hang_up(*, call_id: object, ended_by: str = Call.EndedBy.SYSTEM) -> Call | None:
    """Cuts the line at Twilio now, no goodbye: the live call once its goodbye has been heard
    (or the persona ended it), and the safety net after a goodbye's time. Safe to run twice
    and concurrently: a call Twilio has already ended is taken at its word, and the money
    moves only with its terminal status, once."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().filter(pk=call_id).first()
        if locked is None or not locked.is_active:
            return locked
        _record_ender(locked, ended_by)
    return _hang_up_at_twilio(locked)


def _record_ender(call: Call, ended_by: str) -> bool:
    """Keeps the first of who ended a locked, active call; True when this request was the first."""
    if call.ended_by:
        return False
    call.ended_by = ended_by
    call.save(update_fields=["ended_by", "updated_at"])
    _changed(call)
    return True


def _say_goodbye(call: Call) -> None:
    """After commit: the live stream's consumer has the persona say goodbye and hang up; the
    safety net hangs up later if the stream never does."""
    from calls import tasks  # calls.tasks imports this module

    _group_send(call, {"type": "call.hangup", "call_id": str(call.pk), "ended_by": call.ended_by})
    tasks.hang_up_after_goodbye.apply_async(args=[str(call.pk)], countdown=settings.CALL_GOODBYE_TIMEOUT_SECONDS)


def _hang_up_at_twilio(call: Call) -> Call:
    """Asks Twilio to end the call: cancel it while it rings, complete it once answered (a
    live stream means it was, whatever report is still on its way)."""
    if not call.sid:
        return call
    answered = _rank(call.twilio_status) >= _TWILIO_RANK["in-progress"] or bool(call.live_stream_sid)
    try:
        twilio.call_hang_up(sid=call.sid, ringing=not answered)
    except twilio.TwilioRequestRejected as error:
        if not (error.is_missing or error.twilio_code == twilio.CALL_NOT_IN_PROGRESS):
            raise
        # Already over at Twilio: take its word for how it ended.
        return call_refresh_from_twilio(call=call) or call
    return call


def recording_record(*, params: dict, call_id: object = None) -> CallRecording | None:
    """Stores what Twilio's recording-status callback says (sid, status, duration, channels)."""
    sid = params.get("RecordingSid", "")
    if not sid:
        raise ValidationFailed.for_field("RecordingSid", "RecordingSid is required.")
    with transaction.atomic():
        call = _find_for_update(sid=params.get("CallSid", ""), call_id=call_id)
        if call is None:
            return None
        recording, _ = CallRecording.objects.select_for_update().get_or_create(
            sid=sid, defaults={"call": call, "status": "in-progress"}
        )
        if recording.call_id != call.pk or recording.deleted_at is not None:
            return recording
        recording.status = (params.get("RecordingStatus") or recording.status)[:20]
        recording.duration = _int_param(params, "RecordingDuration") or recording.duration
        recording.channels = _int_param(params, "RecordingChannels") or recording.channels
        recording.save()
        _changed(call)
    return recording


def recording_link(*, call: Call) -> tuple[str, datetime]:
    """A short-lived signed link to our own endpoint that streams the call's recording."""
    recording = selectors.recording_playable(call=call)
    if recording is None:
        raise NotFound("This call has no recording.")
    token = signing.dumps({"recording": str(recording.pk), "user": str(call.user_id)}, salt=RECORDING_LINK_SALT)
    expires_at = timezone.now() + timedelta(seconds=settings.RECORDING_LINK_SECONDS)
    url = f"{settings.SITE_URL}{reverse('calls_api:recording-audio', args=[token])}"
    return url, expires_at


def recording_from_link(*, token: str) -> CallRecording:
    """The recording a signed link points to, while the link is fresh and the recording still there."""
    try:
        payload = signing.loads(token, salt=RECORDING_LINK_SALT, max_age=settings.RECORDING_LINK_SECONDS)
    except signing.BadSignature:
        raise NotFound("This recording link is invalid or has expired.") from None
    recording = (
        CallRecording.objects.filter(pk=payload.get("recording"), call__user_id=payload.get("user"))
        .filter(deleted_at__isnull=True, status="completed")
        .first()
    )
    if recording is None:
        raise NotFound("This recording link is invalid or has expired.")
    return recording


def recording_delete(*, call: Call) -> None:
    """Deletes the call's recordings at Twilio, then here."""
    recordings = list(call.recordings.filter(deleted_at__isnull=True))
    if not recordings:
        raise NotFound("This call has no recording.")
    for recording in recordings:
        twilio.recording_delete(sid=recording.sid)
        CallRecording.objects.filter(pk=recording.pk).update(deleted_at=timezone.now())
    _changed(call)


def call_feedback_save(*, call: Call, rating: object, feedback_text: str = "") -> CallFeedback:
    """The person's rating of a finished call: one per call, saving again edits it."""
    errors: dict[str, list[str]] = {}
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = ["rating must be a whole number from 1 to 5."]
    try:
        text = FEEDBACK_TEXT.clean(feedback_text or "")
    except ValidationError as error:
        errors["feedback_text"] = error.messages
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], details=errors)
    if call.is_active:
        raise ValidationFailed.for_field("rating", "You can rate a call once it has ended.")
    with transaction.atomic():
        feedback, _ = CallFeedback.objects.update_or_create(
            call=call, defaults={"rating": rating, "feedback_text": text}
        )
        _changed(call)
    return feedback


# --- The dashboard's one-step call -------------------------------------------------------------


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
    if _has_active_call(user):
        raise ConcurrentCalls()
    hold = billing_services.authorization_create(user=user, estimated_duration=estimated_minutes).authorization
    try:
        return _place_on_hold(user=user, request=request, payment_intent_id=hold.payment_intent_id)
    except ApplicationError:
        if not Call.objects.filter(authorization=hold).exists():
            billing_tasks.release_authorization.delay(str(hold.pk))
        raise


# --- The caller-ID pool --------------------------------------------------------------------------


def caller_id_number_buy(*, phone_number: str, friendly_name: str = "") -> CallerIdNumber:
    """Buys a number at Twilio and adds it to the pool we call from (used round-robin)."""
    if CallerIdNumber.objects.filter(phone_number=phone_number).exists():
        raise ValidationFailed.for_field("phone_number", "This number is already in the pool.")
    bought = twilio.number_buy(phone_number=phone_number, friendly_name=friendly_name)
    number = CallerIdNumber.objects.create(
        phone_number=bought.phone_number, twilio_sid=bought.sid, friendly_name=bought.friendly_name[:64]
    )
    logger.info("Bought caller ID %s (%s)", mask_phone(number.phone_number), bought.sid)
    return number
