"""Celery tasks for calls: thin wrappers, safe to run twice. Settling a call's hold is
billing's `capture_authorization` task, queued by the services after commit."""

from celery import shared_task

from calls import services


@shared_task
def sweep_unreported_calls() -> int:
    """Beat: finishes calls Twilio never reported on (fetched from Twilio) and settles holds
    of finished calls whose settlement was lost."""
    return services.calls_sweep()
