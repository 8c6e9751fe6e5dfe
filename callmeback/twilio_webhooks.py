"""Twilio's requests to us (the calls app's status callbacks, voice's answer URL): checking
they come from Twilio.

Twilio signs the URL it requested, exactly as we gave it (so built from `SITE_URL`, with its
query string), plus the form fields, with the account's auth token. We check against
`SITE_URL`, never the Host header we happen to receive behind a proxy.
"""

import logging

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from callmeback import twilio
from callmeback.errors import ApplicationError

logger = logging.getLogger(__name__)


class InvalidTwilioSignature(ApplicationError):
    code = "FORBIDDEN"
    status_code = 403
    default_message = "Invalid Twilio signature."


def twilio_params(request: Request) -> dict[str, str]:
    """The form fields of a request Twilio signed, or 403 (and nothing else happens)."""
    url = f"{settings.SITE_URL}{request.get_full_path()}"
    params = request.data
    if not twilio.signature_valid(url=url, params=params, signature=request.headers.get("X-Twilio-Signature")):
        logger.warning("Refused a request to %s without a valid Twilio signature", request.path)
        raise InvalidTwilioSignature()
    return {key: params.get(key) for key in params}


# In the callback URLs we give Twilio: finds a call whose sid is not saved yet when Twilio calls.
CALL_ID_PARAMETER = OpenApiParameter("call", OpenApiTypes.UUID, description="Our id of the call.")


class TwilioWebhookApi(APIView):
    """Base of Twilio's requests to us: form-encoded, authenticated by `X-Twilio-Signature`
    (a bad one is 403 FORBIDDEN), no rate limit."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]
    error_codes = {"POST": [InvalidTwilioSignature]}
