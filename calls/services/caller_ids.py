"""The caller-ID pool: the numbers calls are made from, used in turn, bought at Twilio."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from callmeback.errors import ValidationFailed
from callmeback.logging import mask_phone
from callmeback.twilio import TwilioServiceError
from calls import gateways, selectors
from calls.models import CallerIdNumber

logger = logging.getLogger(__name__)


def caller_id_next() -> str:
    """The next number of the pool, round-robin, else `TWILIO_CALLER_ID`."""
    with transaction.atomic():
        number = selectors.caller_id_next_locked()
        if number is not None:
            number.last_used_at = timezone.now()
            number.save(update_fields=["last_used_at"])
            return number.phone_number
    if not settings.TWILIO_CALLER_ID:
        raise TwilioServiceError("No caller ID is configured for outgoing calls.")
    return settings.TWILIO_CALLER_ID


def caller_id_number_buy(*, phone_number: str, friendly_name: str = "") -> CallerIdNumber:
    """Buys a number at Twilio and adds it to the pool we call from (used round-robin)."""
    if CallerIdNumber.objects.filter(phone_number=phone_number).exists():
        raise ValidationFailed.for_field("phone_number", "This number is already in the pool.")
    bought = gateways.twilio_number_buy(phone_number=phone_number, friendly_name=friendly_name)
    number = CallerIdNumber.objects.create(
        phone_number=bought.phone_number, twilio_sid=bought.sid, friendly_name=bought.friendly_name[:64]
    )
    logger.info("Bought caller ID %s (%s)", mask_phone(number.phone_number), bought.sid)
    return number
