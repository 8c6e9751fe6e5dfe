"""System checks of the dispatcher's settings (`manage.py check`, run at every start).

A claimed booking whose worker seems dead is claimed again after `SCHEDULE_CLAIM_TIMEOUT`.
A claim that times out while its worker is still waiting on Twilio would let a second
worker act on the same booking, so the timeout must outlast the Twilio requests a claimed
task makes in a row, each up to `TWILIO_TIMEOUT_SECONDS`, plus a margin.
"""

from datetime import timedelta

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

CLAIM_TIMEOUT_TOO_SHORT = "scheduling.E001"
# A claimed booking's task asks Twilio at most this many times before it records what
# happened: the dial, then the hang-up of a call ended while the dial was in flight.
TWILIO_REQUESTS_PER_CLAIM = 2
CLAIM_MARGIN = timedelta(seconds=15)


def claim_timeout_floor() -> timedelta:
    """The shortest claim timeout that outlasts a claimed task's Twilio requests."""
    return timedelta(seconds=settings.TWILIO_TIMEOUT_SECONDS * TWILIO_REQUESTS_PER_CLAIM) + CLAIM_MARGIN


@register()
def check_claim_outlasts_twilio(app_configs, **kwargs) -> list[CheckMessage]:
    floor = claim_timeout_floor()
    if floor <= settings.SCHEDULE_CLAIM_TIMEOUT:
        return []
    return [
        Error(
            f"SCHEDULE_CLAIM_TIMEOUT ({settings.SCHEDULE_CLAIM_TIMEOUT.total_seconds():g} s) is shorter than "
            f"TWILIO_TIMEOUT_SECONDS x {TWILIO_REQUESTS_PER_CLAIM} + {CLAIM_MARGIN.total_seconds():g} s "
            f"({floor.total_seconds():g} s): a booking could be claimed again while its worker still waits "
            "on Twilio, and rung twice.",
            hint="Raise SCHEDULE_CLAIM_TIMEOUT_SECONDS or lower TWILIO_TIMEOUT_SECONDS.",
            id=CLAIM_TIMEOUT_TOO_SHORT,
        )
    ]
