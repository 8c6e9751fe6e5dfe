"""Booked calls become calls: their tests run on the calls tests' set-up (the local Twilio,
localstripe, a caller with a card and a verified number, a persona)."""

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
