"""Booked calls become calls: their tests run on the calls tests' set-up (the local Twilio,
localstripe, a caller with a card and a verified number, a persona)."""

import pytest

from tests.calls.conftest import (  # noqa: F401  (fixtures shared with the calls tests)
    _stripe_settings,
    caller,
    caller_client,
    card_user,
    front,
    hold,
    local_twilio,
    localstripe,
    make_card,
    persona,
    place,
    stripe_client,
    stripe_front,
    twilio,
)


@pytest.fixture(autouse=True)
def _dials_unpaced(settings):
    """The local Twilio has no calls-per-second limit: tests sweep as fast as they like,
    except those of the pacing itself, which set the limit they test."""
    settings.TWILIO_CALLS_PER_SECOND = 10_000
