"""A call's life after dialling, as Twilio reports it: status callbacks and the sweeper's
fetches applied in order, the terminal report fixing duration and cost, the hold settled
after commit, calls that never rang failed with their hold released at once, and calls
whose dial got no answer found at Twilio."""

import logging
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import pricing
from billing import tasks as billing_tasks
from billing.errors import StripeServiceError
from billing.services import holds as billing_holds
from callmeback.errors import ValidationFailed
from callmeback.twilio import TwilioRequestRejected, TwilioServiceError
from callmeback.validation import parse_uuid
from calls import gateways, selectors
from calls.gateways import ANSWERED_RANK, TERMINAL_RANK, TERMINAL_STATUSES, call_status_rank
from calls.models import Call
from calls.services.changes import call_changed

logger = logging.getLogger(__name__)

# How far Twilio's clock may be behind ours when its calls are matched to a dial attempt.
DIAL_CLOCK_SKEW = timedelta(seconds=30)
_NOT_PLACED = "The phone service did not place the call."

_FAILURE_MESSAGES = {
    "busy": "The line was busy.",
    "no-answer": "Nobody answered.",
    "canceled": "The call was cancelled before it was answered.",
    "failed": "The call could not be connected.",
}


# --- Reading a report -------------------------------------------------------------------------


def _report_time(params: dict) -> datetime | None:
    """When Twilio says the report happened (its RFC 2822 Timestamp), or None."""
    raw = params.get("Timestamp")
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None


def report_int(params: dict, name: str) -> int | None:
    """A whole, non-negative number of a Twilio report (None if absent or malformed)."""
    try:
        value = int(params.get(name, ""))
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def call_find_for_report(*, sid: str, call_id: object) -> Call | None:
    """The call a report is about, locked: by its sid, or by our id when the report overtook
    our saving of the sid."""
    call = Call.objects.select_for_update().filter(sid=sid).first() if sid else None
    if call is None and call_id:
        parsed = parse_uuid(call_id)
        if parsed is None:
            return None
        call = Call.objects.select_for_update().filter(pk=parsed).first()
        if call is not None and call.sid and call.sid != sid:
            return None
    return call


# --- Applying it ------------------------------------------------------------------------------


def call_apply_status(*, sid: str, params: dict, call_id: object = None) -> Call | None:
    """Applies one status report from Twilio (the callback, or the sweeper's fetch).

    Reports come twice, late and out of order: the record only ever moves forward (by
    Twilio's SequenceNumber and the status order), and a finished call never changes. The
    terminal report fixes duration, times and cost in one transaction; after commit the
    hold is captured for the real duration, or released for a call that never connected.
    A call ended before its sid was known is hung up once a report brings the sid.
    """
    new_status = params.get("CallStatus", "")
    if call_status_rank(new_status) < 0:
        raise ValidationFailed.for_field("CallStatus", "Unknown call status.")
    sequence = report_int(params, "SequenceNumber")
    with transaction.atomic():
        call = call_find_for_report(sid=sid, call_id=call_id)
        if call is None:
            return None
        learned_sid = not call.sid and bool(sid)
        if learned_sid:
            call.sid, call.dial_outcome_unknown = sid, False
        stale = sequence is not None and sequence <= call.twilio_sequence
        behind = call_status_rank(new_status) <= call_status_rank(call.twilio_status)
        if call.status in Call.FINISHED or stale or behind:
            if learned_sid:
                call.save(update_fields=["sid", "dial_outcome_unknown", "updated_at"])
        else:
            _apply_report(call, params, new_status, sequence)
        if learned_sid and call.ended_by and call.is_active:
            _hang_up_after_commit(call)
    return call


def _hang_up_after_commit(call: Call) -> None:
    """A call ended before its sid was known is hung up once a report brings it; if Twilio
    cannot be asked now, the sweeper hangs it up (its `ended_by` stays recorded)."""
    sid, ringing = call.sid, call_status_rank(call.twilio_status) < ANSWERED_RANK

    def hang_up() -> None:
        try:
            gateways.twilio_call_end(sid=sid, ringing=ringing)
        except TwilioServiceError:
            logger.warning("Could not hang up call %s now; the sweeper will", call.pk)

    transaction.on_commit(hang_up)


def _apply_report(call: Call, params: dict, new_status: str, sequence: int | None) -> None:
    """Moves a locked call forward to `new_status` and saves it; a finished one is settled after commit."""
    moment = _report_time(params) or timezone.now()
    call.twilio_status = new_status
    if sequence is not None:
        call.twilio_sequence = sequence
    if new_status == "in-progress":
        call.status = Call.Status.IN_PROGRESS
        call.start_time = call.start_time or moment
    elif call_status_rank(new_status) == TERMINAL_RANK:
        _apply_terminal_report(call, params, moment)
    call.save()
    call_changed(call)
    if call.status in Call.FINISHED:
        _settle_after_commit(call)


def _apply_terminal_report(call: Call, params: dict, moment: datetime) -> None:
    """Terminal report: status, times, duration and what it costs (the caller saves)."""
    status = params.get("CallStatus")
    call.live_stream_sid = ""  # a stream's server that died never cleared it
    duration = report_int(params, "CallDuration") or 0
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
    price = gateways.parse_price(params.get("Price"))
    if price is not None:
        call.provider_cost = price
        call.provider_cost_unit = (params.get("PriceUnit") or "USD")[:3].upper()


def _settle_after_commit(call: Call) -> None:
    """Queues the capture of what the call cost (0 s releases the hold) once the status is saved."""
    if call.authorization_id is None:
        return
    authorization_id, seconds = str(call.authorization_id), call.duration or 0
    transaction.on_commit(lambda: billing_tasks.capture_authorization.delay(authorization_id, seconds))


# --- Calls that never rang ------------------------------------------------------------------


def call_fail_undialled(*, call: Call, reason: str) -> None:
    """A call Twilio never dialled is failed with `reason`, and its hold released now."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        locked.status = Call.Status.FAILED
        locked.error_message = reason[:500]
        locked.ended_by = Call.EndedBy.SYSTEM
        locked.end_time = timezone.now()
        locked.cost_cents = 0
        locked.save()
        call_changed(locked)
    call.refresh_from_db()
    _release_now(call)


def _release_now(call: Call) -> None:
    """Releases the hold of a call that never rang; a Stripe outage leaves it to the task's retries."""
    if call.authorization_id is None:
        return
    try:
        billing_holds.authorization_release(authorization=call.authorization)
    except StripeServiceError:
        logger.warning("Could not release the hold of call %s now; queued", call.pk)
        billing_tasks.release_authorization.delay(str(call.authorization_id))


# --- The sweeper ------------------------------------------------------------------------------


def _as_report(data: gateways.CallData) -> dict:
    """Twilio's record of a call, as the status callback would have reported it."""
    params = {"CallStatus": data.status}
    if data.duration is not None:
        params["CallDuration"] = str(data.duration)
    if data.price is not None:
        params["Price"], params["PriceUnit"] = str(data.price), data.price_unit
    if data.end_time is not None:
        params["Timestamp"] = data.end_time.strftime("%a, %d %b %Y %H:%M:%S %z")
    return params


def call_refresh_from_twilio(*, call: Call, now: datetime | None = None) -> Call | None:
    """Applies Twilio's record of a call as a report (the sweeper): a finished call is settled
    from it (status, real duration, cost); one still going past its time limit, or that
    someone asked to end, is hung up. A call with no sid is first looked for at Twilio."""
    if not call.sid:
        return _resolve_dial(call=call)
    try:
        data = gateways.twilio_call_fetch(sid=call.sid)
    except TwilioRequestRejected as error:
        if not error.is_missing:
            raise
        return call_apply_status(sid=call.sid, params={"CallStatus": "failed"})
    refreshed = call_apply_status(sid=call.sid, params=_as_report(data)) or call
    limit = refreshed.created_at + timedelta(seconds=refreshed.authorized_seconds + settings.CALL_SWEEP_GRACE_SECONDS)
    overdue = limit + selectors.RING_ALLOWANCE < (now or timezone.now())
    if data.status not in TERMINAL_STATUSES and (refreshed.ended_by or overdue):
        gateways.twilio_call_end(sid=call.sid, ringing=call_status_rank(data.status) < ANSWERED_RANK)
    return refreshed


def _resolve_dial(*, call: Call) -> Call | None:
    """A call with no sid was never dialled, or its dial got no answer: then the first of
    Twilio's calls between its numbers since the attempt that no other call owns is it. None
    (by `CALL_DIAL_CHECK_SECONDS`, Twilio created it or never will): failed, hold released."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.status in Call.FINISHED or locked.sid:
            return locked
    found = []
    if locked.dial_attempted_at is not None:
        since = locked.dial_attempted_at - DIAL_CLOCK_SKEW
        found = gateways.twilio_calls_find(to=locked.phone_number, from_=locked.caller_id, created_since=since)
    owned = set(Call.objects.filter(sid__in=[data.sid for data in found]).values_list("sid", flat=True))
    ours = next((data for data in found if data.sid not in owned), None)
    if ours is not None:
        return call_apply_status(sid=ours.sid, params=_as_report(ours), call_id=call.pk)
    dialled = locked.dial_attempted_at is not None
    call_fail_undialled(call=locked, reason=_NOT_PLACED if dialled else "The call was never dialled.")
    return Call.objects.get(pk=call.pk)


def calls_sweep(*, now: datetime | None = None) -> int:
    """Finishes calls Twilio never reported on (a lost final callback, a dial with no answer)
    and settles holds of finished calls whose settlement was lost; returns how many."""
    now = now or timezone.now()
    acted = 0
    grace = timedelta(seconds=settings.CALL_SWEEP_GRACE_SECONDS)
    dial_check = timedelta(seconds=settings.CALL_DIAL_CHECK_SECONDS)
    for call in selectors.calls_unreported(now=now, grace=grace, dial_check=dial_check):
        try:
            call_refresh_from_twilio(call=call, now=now)
            acted += 1
        except TwilioServiceError:
            logger.warning("Could not ask Twilio about call %s; will retry", call.pk)
    for call in selectors.calls_finished_unsettled():
        if call.updated_at < now - grace:
            billing_tasks.capture_authorization.delay(str(call.authorization_id), call.duration or 0)
            acted += 1
    return acted
