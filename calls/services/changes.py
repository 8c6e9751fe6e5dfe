"""What follows every change to a call: the owner's cached history is dropped and the call's
channel-layer group (the dashboard's status sockets) hears of it. The live voice stream has
a group of its own, which hears only what it acts on (a hang-up), so the status and
transcript traffic of a busy call never queues up on the stream's channel."""

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from billing import pricing
from callmeback import cache
from calls import selectors
from calls.models import Call

logger = logging.getLogger(__name__)


def call_changed(call: Call) -> None:
    """After any change to a call: the owner's cached history goes, and listeners hear of it."""
    cache.bump(selectors.calls_scope(call.user_id))
    transaction.on_commit(lambda: call_notify(call))


def call_notify(call: Call) -> None:
    """Tells the call's channel-layer group (the dashboard's status sockets) its status."""
    call_group_send(
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


def call_stream_group(call_id: uuid.UUID) -> str:
    """The call's live voice stream (on whichever web process holds it)."""
    return f"call-{call_id}-stream"


def call_group_send(call: Call, message: dict[str, Any], *, group: str | None = None) -> None:
    """Sends `message` to the call's group (or `group`); best effort, the record is already right."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group or call_group(call.pk), message)
    except Exception:  # a notification is best effort; the record is already right
        logger.warning("Could not notify listeners of call %s", call.pk, exc_info=True)
