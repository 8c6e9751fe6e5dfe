"""`POST /api/voice/answer` (`001_*`): Twilio asks what to do once the person picks up."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema

from callmeback.twilio_webhooks import CALL_ID_PARAMETER, TwilioWebhookApi
from calls.serializers import TwilioCallForm
from voice import twiml


class VoiceAnswerApi(TwilioWebhookApi):
    """Twilio-signed, form-encoded, answered in TwiML; no rate limit (a webhook)."""

    @extend_schema(
        request=TwilioCallForm,
        parameters=[CALL_ID_PARAMETER],
        responses={
            (200, "text/xml"): OpenApiResponse(
                str, description="TwiML: connect the call to our media stream, or hang up (an unknown or ended call)."
            )
        },
    )
    def post(self, request):
        call = twiml.answered_call(request)
        if call is None or not call.persona_id:
            return HttpResponse(twiml.hangup(), content_type="text/xml")
        # Our record may not hold the SID yet (Twilio answered first): the signed request's does.
        call_sid = call.sid or str(request.data.get("CallSid") or "")
        return HttpResponse(twiml.connect_stream(call, call_sid=call_sid), content_type="text/xml")
