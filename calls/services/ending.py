"""Ending a call: by a person, an admin, the persona or the safety net. A call live on its
media stream hears the persona's goodbye first; any other is hung up at Twilio at once.
Either way Twilio's completed callback then finishes the call and settles its hold."""

from django.db import transaction

from callmeback.twilio import TwilioRequestRejected
from calls import gateways
from calls.gateways import ANSWERED_RANK, call_status_rank
from calls.models import Call
from calls.services.changes import call_changed, call_group_send, call_stream_group
from calls.services.lifecycle import call_refresh_from_twilio
from calls.signals import goodbye_requested


def call_end(*, call: Call, ended_by: str = Call.EndedBy.USER) -> Call:
    """A person (the app, the dashboard) or an admin ends a call; ending it again changes nothing.

    On a live media stream the persona says a short goodbye first: the stream's consumer is
    asked to (`call.hangup` on its stream group) and hangs up at Twilio once the goodbye has
    been heard. A safety net hangs up `CALL_GOODBYE_TIMEOUT_SECONDS` later whatever happened
    to the stream (a restarted server). Until then the call stays in progress, as it is.
    A call not yet answered, or answered with no stream, is hung up at once.
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
    call = call_ender_record(call_id=call_id, ended_by=ended_by)
    if call is None or not call.is_active:
        return call
    return _hang_up_at_twilio(call)


def call_ender_record(*, call_id: object, ended_by: str) -> Call | None:
    """Records who ends an active call, in a short transaction of its own (the first ender
    stays), before the line is cut at Twilio with no lock held. The call as recorded, or
    None for an unknown one."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().filter(pk=call_id).first()
        if locked is not None and locked.is_active:
            _record_ender(locked, ended_by)
    return locked


def _record_ender(call: Call, ended_by: str) -> bool:
    """Keeps the first of who ended a locked, active call; True when this request was the first."""
    if call.ended_by:
        return False
    call.ended_by = ended_by
    call.save(update_fields=["ended_by", "updated_at"])
    call_changed(call)
    return True


def _say_goodbye(call: Call) -> None:
    """After commit: the live stream's consumer has the persona say goodbye and hang up; the
    `goodbye_requested` signal queues the safety net that hangs up later if the stream never does."""
    hang_up = {"type": "call.hangup", "call_id": str(call.pk), "ended_by": call.ended_by}
    call_group_send(call, hang_up, group=call_stream_group(call.pk))
    goodbye_requested.send(sender=Call, call=call)


def _hang_up_at_twilio(call: Call) -> Call:
    """Asks Twilio to end the call: cancel it while it rings, complete it once answered (a
    live stream means it was, whatever report is still on its way)."""
    if not call.sid:
        return call
    answered = call_status_rank(call.twilio_status) >= ANSWERED_RANK or bool(call.live_stream_sid)
    try:
        gateways.twilio_call_end(sid=call.sid, ringing=not answered)
    except TwilioRequestRejected as error:
        if not (error.is_missing or error.twilio_code == gateways.CALL_NOT_IN_PROGRESS):
            raise
        # Already over at Twilio: take its word for how it ended.
        return call_refresh_from_twilio(call=call) or call
    return call
