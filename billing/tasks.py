"""Celery tasks for payments: thin wrappers, safe to run twice (the services settle a hold once)."""

from celery import shared_task

from billing import selectors
from billing.errors import StripeTemporaryError
from billing.services import holds, unused_holds

_RETRY = {"autoretry_for": (StripeTemporaryError,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 10}


@shared_task(**_RETRY)
def capture_authorization(authorization_id: str, seconds: int) -> str:
    """Captures the cost of a finished call of `seconds` (0 releases the hold). Returns the hold's status."""
    authorization = selectors.authorization_by_id(authorization_id=authorization_id)
    if authorization is None:
        return "missing"
    return holds.authorization_capture(authorization=authorization, seconds=seconds).status


@shared_task(**_RETRY)
def release_authorization(authorization_id: str) -> str:
    """Releases the hold of a cancelled call. Returns the hold's status."""
    authorization = selectors.authorization_by_id(authorization_id=authorization_id)
    if authorization is None:
        return "missing"
    return holds.authorization_release(authorization=authorization).status


@shared_task
def finish_in_flight_authorizations() -> int:
    """Beat: settles holds whose capture or release was claimed by a worker that then died."""
    return holds.authorizations_finish_in_flight()


@shared_task
def sweep_unattached_authorizations() -> int:
    """Beat: records holds whose creation never reported back and releases holds nothing took."""
    return unused_holds.authorizations_sweep_unattached()
