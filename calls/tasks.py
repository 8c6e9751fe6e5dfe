"""Celery tasks for calls: thin wrappers, safe to run twice. Settling a call's hold is
billing's `capture_authorization` task, queued by the services after commit."""

from celery import shared_task
from django.conf import settings
from django.dispatch import receiver

from callmeback.twilio import TwilioServiceError
from calls.models import Call
from calls.services import ending, lifecycle
from calls.signals import goodbye_requested


@shared_task
def sweep_unreported_calls() -> int:
    """Beat: finishes calls Twilio never reported on (fetched from Twilio) and settles holds
    of finished calls whose settlement was lost."""
    return lifecycle.calls_sweep()


@shared_task(autoretry_for=(TwilioServiceError,), retry_backoff=True, max_retries=5)
def hang_up_after_goodbye(call_id: str) -> str:
    """Hangs up at Twilio a call still active once its goodbye has been heard: queued by the
    live stream when the persona is done, and as the goodbye's safety net (with a countdown,
    when `call_end` asks a live stream for one) so a call whose stream is gone still ends.
    Returns the call's status."""
    call = ending.call_hang_up(call_id=call_id)
    return call.status if call is not None else "missing"


@receiver(goodbye_requested, sender=Call, dispatch_uid="calls-goodbye-safety-net")
def queue_hang_up_after_goodbye(sender, call: Call, **kwargs) -> None:
    """Queues the safety net `CALL_GOODBYE_TIMEOUT_SECONDS` after a goodbye was asked for."""
    hang_up_after_goodbye.apply_async(args=[str(call.pk)], countdown=settings.CALL_GOODBYE_TIMEOUT_SECONDS)
