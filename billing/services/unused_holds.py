"""Holds nothing took: the owner's cancel of a hold they no longer need, and the sweeper
that settles what a crash or a client left behind (a creation that never reported back, a
hold no call or booking took). Both go through the settlement in `holds`, so a hold is
released once, and never one a call or booking took meanwhile."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from billing import selectors
from billing.errors import StripeServiceError
from billing.models import PaymentAuthorization
from billing.services.holds import (
    _claim_creation,
    _find_created_intent,
    _is_attached,
    _record_created,
    _settle_claimed,
    _stripe_call_lease,
    _unusable,
)
from callmeback.errors import NotFound

logger = logging.getLogger(__name__)

Status = PaymentAuthorization.Status


def authorization_cancel(*, user: User, payment_intent_id: str) -> PaymentAuthorization:
    """Releases a hold its owner no longer needs (a call they decided not to place). Refused
    for a hold a call or a booking took; a hold released already is returned as it is."""
    authorization = selectors.authorization_for_user(user=user, payment_intent_id=payment_intent_id)
    if authorization is None:
        raise NotFound("No payment authorisation with this id.")
    if authorization.status == Status.CAPTURED:
        raise _unusable("This payment authorisation has already been used.")
    hold = _settle_claimed(authorization, claim_amount=0, wait=True, unattached_only=True)
    if hold.status == Status.CAPTURED or (not hold.is_settled and _is_attached(hold)):
        raise _unusable("This payment authorisation is in use by a call or a scheduled call.")
    return hold


def unattached_hold_grace() -> timedelta:
    return timedelta(seconds=settings.UNATTACHED_HOLD_GRACE_SECONDS)


def authorizations_sweep_unattached(*, grace: timedelta | None = None, creating_grace: timedelta | None = None) -> int:
    """Settles what a crash or a client can leave behind: a hold whose creation never
    reported back within `creating_grace` (by default, as long as a worker may still be
    waiting for Stripe) is looked up at Stripe by the id in its metadata and recorded, and
    any hold no call or booking took within `grace` of its creation is released. Returns
    how many holds were released."""
    now = timezone.now()
    lease = _stripe_call_lease() if creating_grace is None else creating_grace
    for pending in selectors.authorizations_creating(started_before=now - lease):
        hold, our_turn, _ = _claim_creation(pending.pk, lease=lease)
        if not our_turn:
            continue
        try:
            _record_created(hold.pk, intent=_find_created_intent(hold))
        except StripeServiceError:
            logger.warning("Could not look up the hold %s being placed; will retry", hold.pk)
    released = 0
    unused_since = now - (unattached_hold_grace() if grace is None else grace)
    for hold in selectors.authorizations_unattached(created_before=unused_since):
        try:
            released += _settle_claimed(hold, claim_amount=0, unattached_only=True).status == Status.CANCELED
        except StripeServiceError:
            logger.warning("Could not release the unused hold %s; will retry", hold.payment_intent_id)
    return released
