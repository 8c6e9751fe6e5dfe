"""Celery tasks for calls: thin wrappers, safe to run twice. Settling a call's hold is
billing's `capture_authorization` task, queued by the services after commit."""

from celery import shared_task

from calls import services
from calls.twilio import TwilioServiceError


@shared_task
def sweep_unreported_calls() -> int:
    """Beat: finishes calls Twilio never reported on (fetched from Twilio) and settles holds
    of finished calls whose settlement was lost."""
    return services.calls_sweep()


@shared_task(autoretry_for=(TwilioServiceError,), retry_backoff=True, max_retries=5)
def hang_up_after_goodbye(call_id: str) -> str:
    """The safety net of a goodbye (queued by `call_end` with a countdown): hangs up at
    Twilio a call still active once the goodbye had time to be heard, so a call whose
    stream is gone still ends. Returns the call's status."""
    call = services.call_hang_up(call_id=call_id)
    return call.status if call is not None else "missing"
