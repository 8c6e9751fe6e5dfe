"""`POST /api/voice/answer` (`001_*`): Twilio asks what to do once the person picks up."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from voice import twiml


class VoiceAnswerApi(APIView):
    """Twilio-signed, form-encoded, answered in TwiML; no rate limit (a webhook)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @extend_schema(request=None, responses={(200, "text/xml"): str})
    def post(self, request):
        call = twiml.answered_call(request)
        body = twiml.connect_stream(call) if call is not None and call.persona_id else twiml.hangup()
        return HttpResponse(body, content_type="text/xml")
