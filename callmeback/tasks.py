"""Celery tasks of the project-wide plumbing."""

from celery import shared_task

from callmeback import idempotency


@shared_task(ignore_result=True)
def purge_idempotent_requests() -> int:
    """Beat, hourly: forgets `Idempotency-Key`s past their time."""
    return idempotency.idempotent_requests_purge()
