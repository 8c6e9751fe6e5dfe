"""What Twilio hears from us when the person answers: TwiML built with the SDK.

`answered_call` is the reusable part (Twilio's signature, the call it is about); the body
connects the call to our media stream, where the live conversation happens.
"""


from rest_framework.request import Request
from twilio.twiml.voice_response import Connect, VoiceResponse

from callmeback import twilio_webhooks as webhooks
from callmeback.validation import parse_uuid
from calls.models import Call
from voice.streams import stream_parameters, stream_url


def answered_call(request: Request) -> Call | None:
    """The active call a signed answer request is about (by CallSid, or by our id in the
    URL when Twilio answers before we saved the sid); None for unknown or finished calls.
    An unsigned or forged request is refused with 403."""
    params = webhooks.twilio_params(request)
    sid = params.get("CallSid") or ""
    call = Call.objects.select_related("persona").filter(sid=sid).first() if sid else None
    call_id = request.query_params.get("call")
    if call is None and call_id:
        call = Call.objects.select_related("persona").filter(pk=parse_uuid(call_id)).first()
        if call is not None and call.sid and call.sid != sid:
            call = None
    if call is None or not call.is_active:
        return None
    return call


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def connect_stream(call: Call, *, call_sid: str) -> str:
    """Open the bidirectional media stream to us for `call`, which Twilio knows as `call_sid`.

    Stream URLs take no query string, so what the stream needs to find its call travels in
    `<Parameter>`s, with a token bound to the call and its SID; the consumer checks them
    against the database before trusting them.
    """
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url())
    parameters = stream_parameters(call_id=str(call.pk), call_sid=call_sid, persona_id=str(call.persona_id or ""))
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)
