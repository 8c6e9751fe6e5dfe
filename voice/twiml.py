"""What Twilio hears from us when the person answers: TwiML built with the SDK.

`answered_call` is the reusable part (Twilio's signature, the call it is about); the body
is `<Say>` of the persona's opening line and a long `<Pause>` that keeps the line open until
the live conversation's `<Connect><Stream>` takes its place.
"""

import uuid

from twilio.twiml.voice_response import VoiceResponse

from calls import webhooks
from calls.models import Call

# Twilio's time limit ends the call; the pause only has to outlast it.
MAX_PAUSE_SECONDS = 4 * 60 * 60


def answered_call(request) -> Call | None:
    """The active call a signed answer request is about (by CallSid, or by our id in the
    URL when Twilio answers before we saved the sid); None for unknown or finished calls.
    An unsigned or forged request is refused with 403."""
    params = webhooks.twilio_params(request)
    sid = params.get("CallSid") or ""
    call = Call.objects.select_related("persona").filter(sid=sid).first() if sid else None
    call_id = request.query_params.get("call")
    if call is None and call_id:
        call = Call.objects.select_related("persona").filter(pk=_uuid_or_none(call_id)).first()
        if call is not None and call.sid and call.sid != sid:
            call = None
    if call is None or not call.is_active:
        return None
    return call


def _uuid_or_none(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def greeting(call: Call) -> str:
    """The persona's opening line, then the line held open."""
    response = VoiceResponse()
    opening = call.persona.opening_line if call.persona else f"Hi, it's {call.persona_name}."
    response.say(opening)
    response.pause(length=min(max(call.authorized_seconds, 1), MAX_PAUSE_SECONDS))
    return str(response)
