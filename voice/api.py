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
        body = twiml.connect_stream(call) if call is not None and call.persona_id else twiml.hangup()
        return HttpResponse(body, content_type="text/xml")
