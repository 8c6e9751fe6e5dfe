"""Every write in billing: Stripe customers, cards, call pre-authorisations and their
settlement, and the premium subscription.

Money moves exactly once. A hold is settled (captured or released) by claiming it in a
short transaction (the amount, and whose turn it is to ask Stripe), asking Stripe after
that commits, with an idempotency key derived from the hold's id, and recording the answer
in a second short transaction; no row lock is held while Stripe answers. Whoever comes
second, a retried task, a concurrent worker or a late webhook, waits for or finds the
outcome and changes nothing. The
`AuthorizationSettlement` table takes one row per hold, enforced by the database.
"""

import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import user_set_plan
from billing import gateways, pricing, selectors
from billing.conf import MAX_NETWORK_RETRIES, PREMIUM_INTERVALS, stripe_config
from billing.errors import PaymentDeclined, ServiceUnavailable, StripeRequestRejected, StripeServiceError
from billing.models import (
    AuthorizationSettlement,
    Invoice,
    PaymentAuthorization,
    PaymentMethod,
    StripeCustomer,
    Subscription,
)
from callmeback.errors import ApplicationError, NotFound, ValidationFailed

logger = logging.getLogger(__name__)

Status = PaymentAuthorization.Status

PAYMENT_METHOD_ID = re.compile(r"pm_[A-Za-z0-9_]{1,250}")
# https://docs.stripe.com/payments/place-a-hold-on-a-payment-method: card holds last 7 days,
# but only 4 days 18 hours for merchant-initiated Visa payments.
HOLD_VALIDITY = timedelta(days=7)
VISA_MERCHANT_INITIATED_HOLD_VALIDITY = timedelta(days=4, hours=18)
# A hold must pay for at least this much talk before we dial.
MIN_CALL_SECONDS = 60
# A claimed capture or release untouched this long lost its worker; the sweeper finishes it.
IN_FLIGHT_GRACE = timedelta(minutes=10)


class NoPaymentMethod(ApplicationError):
    code = "NO_PAYMENT_METHOD"
    status_code = 400
    default_message = "No payment method on file. Add a card first."


class CannotRemoveDefault(ApplicationError):
    code = "CANNOT_REMOVE_DEFAULT"
    status_code = 400
    default_message = "Cannot remove the default payment method. Set another card as default first."


class NotCapturable(ApplicationError):
    code = "PAYMENT_REQUIRED"
    status_code = 402
    default_message = "This payment was never authorised, so there is nothing to capture."


class AlreadySubscribed(ApplicationError):
    code = "ALREADY_SUBSCRIBED"
    status_code = 409
    default_message = "You already have an active premium subscription."


def _fresh_key(kind: str, *parts: object) -> str:
    """An idempotency key for requests that may rightly be repeated later (a new default
    card, a new Checkout page): it only guards the SDK's own retries of this one request."""
    return "-".join([kind, *map(str, parts), uuid.uuid4().hex])


# --- Customers ----------------------------------------------------------------------------


def customer_ensure(*, user: User) -> StripeCustomer:
    """The user's Stripe customer, created on first need. The idempotency key makes two
    concurrent first requests get the same customer from Stripe; the unique row keeps one."""
    existing = selectors.customer_for_user(user=user)
    if existing is not None:
        return existing
    data = gateways.customer_create(
        email=user.email, name=user.name, user_id=str(user.pk), idempotency_key=f"customer-{user.pk}"
    )
    try:
        with transaction.atomic():
            return StripeCustomer.objects.create(user=user, customer_id=data.id, balance=data.balance)
    except IntegrityError:
        return StripeCustomer.objects.get(user=user)


def _lock_customer(user_id: uuid.UUID) -> None:
    """Serialises changes to one user's cards (which one is default) inside a transaction."""
    list(StripeCustomer.objects.select_for_update().filter(user_id=user_id).values_list("pk"))


# --- Cards --------------------------------------------------------------------------------


def _invalid_payment_method(message: str = "Invalid payment method.") -> ValidationFailed:
    return ValidationFailed.for_field("payment_method_id", message)


def card_expired(card: gateways.CardData) -> bool:
    """A card works through the last day of its expiry month (UTC)."""
    if card.exp_year is None or card.exp_month is None:
        return False
    today = timezone.now()
    return (card.exp_year, card.exp_month) < (today.year, today.month)


def _own_card(*, user: User, payment_method_id: str) -> PaymentMethod:
    method = selectors.payment_method_for_user(user=user, payment_method_id=payment_method_id)
    if method is None:
        raise NotFound("Payment method not found.")
    return method


def setup_intent_create(*, user: User) -> str:
    """A client secret with which Stripe.js saves a card for this user (the dashboard's card form)."""
    customer = customer_ensure(user=user)
    return gateways.setup_intent_create(
        customer_id=customer.customer_id, idempotency_key=_fresh_key("setup", customer.pk)
    )


def payment_method_add(*, user: User, payment_method_id: str, set_as_default: bool = False) -> PaymentMethod:
    """Attaches a card tokenised by Stripe.js to the user's Stripe customer and records it
    (`000_*` §6.2). The first card becomes the default. Adding a card already on file only
    applies `set_as_default`; another user's card is refused like an unknown one."""
    if not isinstance(payment_method_id, str) or not PAYMENT_METHOD_ID.fullmatch(payment_method_id):
        raise _invalid_payment_method()
    known = PaymentMethod.objects.filter(stripe_id=payment_method_id).first()
    if known is not None:
        if known.user_id != user.pk or known.detached_at is not None:
            raise _invalid_payment_method()
        if set_as_default:
            return payment_method_set_default(user=user, payment_method_id=payment_method_id)
        return known
    customer = customer_ensure(user=user)
    card = _attach_card(payment_method_id=payment_method_id, customer=customer)
    make_default = set_as_default or selectors.default_payment_method(user=user) is None
    if make_default:
        gateways.customer_set_default_payment_method(
            customer_id=customer.customer_id,
            payment_method_id=card.id,
            idempotency_key=_fresh_key("default", card.id),
        )
    return _card_record(customer=customer, card=card, make_default=make_default)


def _attach_card(*, payment_method_id: str, customer: StripeCustomer) -> gateways.CardData:
    """The card, attached to `customer` (Stripe.js may already have done it through a SetupIntent).
    An expired card is refused, and let go again if Stripe.js attached it."""
    try:
        card = gateways.payment_method_retrieve(payment_method_id)
        if card.type != "card":
            raise _invalid_payment_method("Only cards can be added.")
        if card_expired(card):
            if card.customer == customer.customer_id:
                gateways.payment_method_detach(payment_method_id=card.id, idempotency_key=f"detach-{card.id}")
            raise _invalid_payment_method(
                f"This card expired in {card.exp_month:02d}/{card.exp_year}. Use a card that has not expired."
            )
        if card.customer == customer.customer_id:
            return card
        if card.customer:
            raise _invalid_payment_method()
        return gateways.payment_method_attach(
            payment_method_id=payment_method_id,
            customer_id=customer.customer_id,
            idempotency_key=f"attach-{payment_method_id}",
        )
    except StripeRequestRejected:
        raise _invalid_payment_method() from None


def _card_record(*, customer: StripeCustomer, card: gateways.CardData, make_default: bool) -> PaymentMethod:
    """Creates or refreshes the card's row. A detached card stays detached; a user's first
    card becomes the default."""
    with transaction.atomic():
        _lock_customer(customer.user_id)
        method = PaymentMethod.objects.filter(stripe_id=card.id).first()
        if method is None:
            method = PaymentMethod(user_id=customer.user_id, stripe_id=card.id)
        elif method.detached_at is not None or method.user_id != customer.user_id:
            return method
        method.type = card.type
        method.brand = card.brand
        method.last4 = card.last4
        method.exp_month = card.exp_month
        method.exp_year = card.exp_year
        others = PaymentMethod.objects.filter(user_id=customer.user_id, is_default=True).exclude(pk=method.pk)
        if make_default:
            others.update(is_default=False)
            method.is_default = True
        elif not others.exists():
            method.is_default = True
        method.save()
    return method


def payment_method_set_default(*, user: User, payment_method_id: str) -> PaymentMethod:
    """Makes one of the user's cards the default, here and on the Stripe customer (`000_*` §6.4)."""
    method = _own_card(user=user, payment_method_id=payment_method_id)
    if method.is_default:
        return method
    customer = selectors.customer_for_user(user=user)
    gateways.customer_set_default_payment_method(
        customer_id=customer.customer_id,
        payment_method_id=method.stripe_id,
        idempotency_key=_fresh_key("default", method.stripe_id),
    )
    with transaction.atomic():
        _lock_customer(user.pk)
        method.refresh_from_db()
        if method.detached_at is not None:
            raise NotFound("Payment method not found.")
        PaymentMethod.objects.filter(user=user, is_default=True).update(is_default=False)
        method.is_default = True
        method.save(update_fields=["is_default"])
    return method


def payment_method_remove(*, user: User, payment_method_id: str) -> None:
    """Detaches a card that is not the default (`000_*` §6.3)."""
    method = _own_card(user=user, payment_method_id=payment_method_id)
    if method.is_default:
        raise CannotRemoveDefault()
    try:
        gateways.payment_method_detach(payment_method_id=method.stripe_id, idempotency_key=f"detach-{method.stripe_id}")
    except StripeRequestRejected:
        logger.info("Card %s was already detached at Stripe", method.stripe_id)
    payment_method_sync_detached(payment_method_id=method.stripe_id)


def payment_method_read_attached(*, card: gateways.CardData) -> gateways.CardData | None:
    """The card of a `payment_method.attached` event as Stripe has it now. A card we do not
    know is re-read (None if Stripe no longer has it), so an `attached` arriving after its
    `detached` adds nothing. Only reads: call it before any transaction."""
    if PaymentMethod.objects.filter(stripe_id=card.id).exists():
        return card
    try:
        return gateways.payment_method_retrieve(card.id)
    except StripeRequestRejected as error:
        if error.is_missing:
            return None
        raise


def payment_method_sync_attached(*, card: gateways.CardData) -> PaymentMethod | None:
    """Records a card attached at Stripe, by us or elsewhere, as `payment_method_read_attached` returned it."""
    customer = StripeCustomer.objects.filter(customer_id=card.customer).first() if card.customer else None
    if customer is None or card_expired(card):
        return None
    return _card_record(customer=customer, card=card, make_default=False)


def payment_method_sync_detached(*, payment_method_id: str) -> None:
    """Marks a card detached; if it was the default, the newest remaining card takes over."""
    with transaction.atomic():
        method = PaymentMethod.objects.filter(stripe_id=payment_method_id, detached_at__isnull=True).first()
        if method is None:
            return
        _lock_customer(method.user_id)
        method.refresh_from_db()
        if method.detached_at is not None:
            return
        was_default = method.is_default
        method.is_default = False
        method.detached_at = timezone.now()
        method.save(update_fields=["is_default", "detached_at"])
        remaining = PaymentMethod.objects.filter(user_id=method.user_id, detached_at__isnull=True)
        successor = remaining.order_by("-created_at").first() if was_default else None
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default"])


# --- Call pre-authorisations --------------------------------------------------------------


@dataclass(frozen=True)
class NewAuthorization:
    authorization: PaymentAuthorization
    client_secret: str = field(repr=False)


_HELD_STATUSES = {"requires_capture": Status.REQUIRES_CAPTURE, "requires_action": Status.REQUIRES_ACTION}


def _hold_expiry(*, capture_before: int | None, merchant_initiated_visa: bool) -> datetime:
    """When the card network drops the hold: Stripe's `capture_before` when it says, else the scheme's window."""
    if capture_before:
        return datetime.fromtimestamp(capture_before, tz=UTC)
    return timezone.now() + (VISA_MERCHANT_INITIATED_HOLD_VALIDITY if merchant_initiated_visa else HOLD_VALIDITY)


def authorization_create(
    *,
    user: User,
    estimated_duration: int,
    call_type: str = PaymentAuthorization.CallType.IMMEDIATE,
    off_session: bool = False,
) -> NewAuthorization:
    """Holds the estimated cost of a call on the default card (`000_*` §6.5).

    `off_session` is for holds placed while the person is away, close to a scheduled call:
    a merchant-initiated payment, whose hold Visa keeps for less than 5 days.
    """
    if not pricing.MIN_ESTIMATE_MINUTES <= estimated_duration <= pricing.MAX_ESTIMATE_MINUTES:
        raise ValidationFailed.for_field(
            "estimated_duration",
            f"Ensure this value is between {pricing.MIN_ESTIMATE_MINUTES} and {pricing.MAX_ESTIMATE_MINUTES} minutes.",
        )
    if call_type not in PaymentAuthorization.CallType.values:
        raise ValidationFailed.for_field("call_type", "Must be immediate or scheduled.")
    method = selectors.default_payment_method(user=user)
    customer = selectors.customer_for_user(user=user)
    if method is None or customer is None:
        raise NoPaymentMethod()
    currency = stripe_config().currency
    amount = pricing.estimate_cents(estimated_duration)
    authorization_id = uuid.uuid4()
    intent = gateways.payment_intent_authorize(
        amount=amount,
        currency=currency,
        customer_id=customer.customer_id,
        payment_method_id=method.stripe_id,
        off_session=off_session,
        metadata={
            "user_id": str(user.pk),
            "call_type": call_type,
            "estimated_duration": str(estimated_duration),
            "authorization_id": str(authorization_id),
        },
        idempotency_key=f"authorize-{authorization_id}",
    )
    status = _HELD_STATUSES.get(intent.status)
    if status is None:
        raise PaymentDeclined()
    try:
        authorization = PaymentAuthorization.objects.create(
            id=authorization_id,
            user=user,
            payment_intent_id=intent.id,
            payment_method_id=method.stripe_id,
            currency=currency,
            amount_authorized=amount,
            estimated_duration=estimated_duration,
            call_type=call_type,
            off_session=off_session,
            status=status,
            expires_at=_hold_expiry(
                capture_before=intent.capture_before,
                merchant_initiated_visa=off_session and method.brand.lower() == "visa",
            ),
        )
    except DatabaseError:
        # Never leave a hold on someone's card that no record of ours knows about.
        try:
            gateways.payment_intent_cancel(payment_intent_id=intent.id, idempotency_key=f"release-{authorization_id}")
        except StripeServiceError:
            logger.error("Could not release %s, a hold we failed to record", intent.id)
        raise
    logger.info("Authorised %s¢ on %s for user %s", amount, intent.id, user.pk)
    return NewAuthorization(authorization=authorization, client_secret=intent.client_secret)


def _unusable(message: str) -> ValidationFailed:
    return ValidationFailed.for_field("payment_intent_id", message)


def authorization_check(
    *, user: User, payment_intent_id: str, valid_until: datetime | None = None
) -> PaymentAuthorization:
    """The hold a call may spend: the user's own, authorised, not spent on another call,
    worth at least a minute of talk, and still held at `valid_until` (the call time; now by
    default). Calls booked beyond the hold window must be authorised nearer the time."""
    authorization = selectors.authorization_for_user(user=user, payment_intent_id=payment_intent_id)
    if authorization is None:
        raise _unusable("No payment authorisation with this id.")
    if authorization.status == Status.REQUIRES_ACTION:
        authorization = authorization_refresh(authorization=authorization)
    if authorization.status == Status.FAILED:
        raise PaymentDeclined()
    if authorization.status == Status.REQUIRES_ACTION:
        raise _unusable("Complete the card authentication first.")
    if authorization.status != Status.REQUIRES_CAPTURE or authorization.call_id is not None:
        raise _unusable("This payment authorisation has already been used.")
    if authorization.amount_authorized < pricing.call_cost_cents(MIN_CALL_SECONDS):
        raise _unusable("This payment authorisation does not cover a minute of talk.")
    if authorization.expires_at <= (valid_until or timezone.now()):
        raise _unusable("The hold on the card ends before the call. Authorise again closer to the call time.")
    return authorization


def authorization_attach_call(*, authorization: PaymentAuthorization, call_id: uuid.UUID) -> PaymentAuthorization:
    """Records the call a hold pays for: one call per hold, one hold per call."""
    try:
        with transaction.atomic():
            locked = PaymentAuthorization.objects.select_for_update().get(pk=authorization.pk)
            if locked.call_id == call_id:
                return locked
            if locked.call_id is not None or locked.status != Status.REQUIRES_CAPTURE:
                raise _unusable("This payment authorisation has already been used.")
            locked.call_id = call_id
            locked.save(update_fields=["call_id", "updated_at"])
            return locked
    except IntegrityError:
        raise _unusable("This call already has a payment authorisation.") from None


def authorization_reserve_for_booking(*, authorization: PaymentAuthorization) -> None:
    """Records that a booking took the hold: from now on it pays for that booking's call only,
    so a call placed now is refused it. Run in the transaction that saves the booking."""
    authorization.reserved_for = PaymentAuthorization.ReservedFor.BOOKING
    authorization.save(update_fields=["reserved_for", "updated_at"])


def authorization_refresh(*, authorization: PaymentAuthorization) -> PaymentAuthorization:
    """Reads the intent from Stripe, for when its webhook has not arrived yet."""
    intent = gateways.payment_intent_retrieve(authorization.payment_intent_id)
    return authorization_sync_intent(intent=intent) or authorization


def authorization_sync_intent(*, intent: gateways.IntentData) -> PaymentAuthorization | None:
    """Adopts what Stripe reports for one of our intents (a webhook, or a refresh)."""
    with transaction.atomic():
        authorization = PaymentAuthorization.objects.select_for_update().filter(payment_intent_id=intent.id).first()
        if authorization is not None:
            _apply_intent(authorization, intent, source=AuthorizationSettlement.Source.STRIPE)
    return authorization


def _apply_intent(authorization: PaymentAuthorization, intent: gateways.IntentData, *, source: str) -> None:
    """Moves a locked hold to Stripe's state. States only move forward and settled holds never
    change, so a late, repeated or reordered event cannot un-capture or capture again."""
    if authorization.is_settled:
        return
    if intent.status == "succeeded":
        # Stripe's figure; localstripe omits it, and then ours (or the whole hold, if taken elsewhere).
        amount = intent.amount_received or authorization.amount_to_capture or intent.amount
        _record_settlement(authorization, kind=AuthorizationSettlement.Kind.CAPTURE, amount=amount, source=source)
    elif intent.status == "canceled":
        _record_settlement(authorization, kind=AuthorizationSettlement.Kind.RELEASE, amount=0, source=source)
    elif authorization.status == Status.REQUIRES_ACTION and intent.status == "requires_capture":
        # Authenticated by the customer just now: on-session, so the full window.
        authorization.status = Status.REQUIRES_CAPTURE
        authorization.expires_at = _hold_expiry(capture_before=intent.capture_before, merchant_initiated_visa=False)
        authorization.save(update_fields=["status", "expires_at", "updated_at"])
    elif authorization.status == Status.REQUIRES_ACTION and intent.status == "requires_payment_method":
        authorization.status = Status.FAILED
        authorization.failure_code = "authentication_failed"
        authorization.settled_at = timezone.now()
        authorization.save(update_fields=["status", "failure_code", "settled_at", "updated_at"])


def _record_settlement(authorization: PaymentAuthorization, *, kind: str, amount: int, source: str) -> None:
    """The hold's final state and its one settlement row (the caller holds the row lock)."""
    captured = kind == AuthorizationSettlement.Kind.CAPTURE
    authorization.status = Status.CAPTURED if captured else Status.CANCELED
    authorization.amount_captured = amount
    authorization.settled_at = timezone.now()
    authorization.stripe_call_started_at = None
    authorization.save(
        update_fields=["status", "amount_captured", "settled_at", "stripe_call_started_at", "updated_at"]
    )
    AuthorizationSettlement.objects.create(authorization=authorization, kind=kind, amount=amount, source=source)
    logger.info("%s %s¢ on %s", "Captured" if captured else "Released", amount, authorization.payment_intent_id)


def authorization_capture(*, authorization: PaymentAuthorization, seconds: int) -> PaymentAuthorization:
    """Captures what a call of `seconds` cost, never more than the hold; Stripe releases the
    rest. A call that never connected (0 s) releases the whole hold instead. Calling it
    again, or concurrently, returns the first outcome and moves no more money."""
    if seconds < 0:
        raise ValidationFailed.for_field("seconds", "A call cannot last a negative time.")
    amount = min(pricing.call_cost_cents(seconds), authorization.amount_authorized) if seconds else 0
    return _settle(authorization, amount=amount)


def authorization_release(*, authorization: PaymentAuthorization) -> PaymentAuthorization:
    """Releases the whole hold (a cancelled scheduled call); idempotent like a capture."""
    return _settle(authorization, amount=0)


def _settle(authorization: PaymentAuthorization, *, amount: int) -> PaymentAuthorization:
    """Claims the hold for capturing `amount` (or releasing, for 0), unless it is settled or
    already claimed, in which case the first claim stands; then carries the claim out, or
    waits for the worker already doing so."""
    return _settle_claimed(authorization, claim_amount=amount, wait=True)


def _stripe_call_lease() -> timedelta:
    """How long a worker may take asking Stripe before another may take over: every attempt
    the SDK makes, each up to the timeout, and some slack. Taking over is safe anyway (the
    same idempotency key gets Stripe's first answer); this only avoids asking twice."""
    return timedelta(seconds=stripe_config().timeout * (MAX_NETWORK_RETRIES + 1) + 30)


# How often a caller waiting for another worker's Stripe call looks at the hold again.
_SETTLE_POLL_SECONDS = 0.2


def _claim_turn(authorization_id: uuid.UUID, *, claim_amount: int | None) -> tuple[PaymentAuthorization, bool]:
    """One short transaction under the row lock: claims the hold for `claim_amount` unless it
    is settled or claimed already (None only finishes an existing claim), then takes the turn
    to ask Stripe unless another worker has it. Returns the hold and whether it is our turn."""
    now = timezone.now()
    with transaction.atomic():
        hold = PaymentAuthorization.objects.select_for_update().get(pk=authorization_id)
        if hold.is_settled:
            return hold, False
        if hold.status not in PaymentAuthorization.IN_FLIGHT:
            if claim_amount is None:
                return hold, False
            if claim_amount and hold.status != Status.REQUIRES_CAPTURE:
                raise NotCapturable()
            hold.status = Status.CAPTURING if claim_amount else Status.RELEASING
            hold.amount_to_capture = claim_amount
        elif hold.stripe_call_started_at and hold.stripe_call_started_at > now - _stripe_call_lease():
            return hold, False
        hold.stripe_call_started_at = now
        hold.save(update_fields=["status", "amount_to_capture", "stripe_call_started_at", "updated_at"])
    return hold, True


def _settle_claimed(
    authorization: PaymentAuthorization, *, claim_amount: int | None = None, wait: bool = False
) -> PaymentAuthorization:
    """Carries out the hold's claim: Stripe is asked with no transaction open and no row
    locked, and its answer is recorded in a second short transaction. With `wait`, a caller
    that finds another worker asking Stripe waits for that worker's outcome (or takes over
    if it gives up), so Stripe is asked once. A retry reuses the claimed amount and the same
    idempotency key, so Stripe answers it with the first result."""
    while True:
        hold, our_turn = _claim_turn(authorization.pk, claim_amount=claim_amount)
        if our_turn or not wait or hold.status not in PaymentAuthorization.IN_FLIGHT:
            break
        time.sleep(_SETTLE_POLL_SECONDS)
    if not our_turn:
        return hold
    try:
        intent = _ask_stripe_to_settle(hold)
    except BaseException:
        # Give the turn back, so a retry (or a waiting caller) need not wait for the lease.
        PaymentAuthorization.objects.filter(pk=hold.pk, stripe_call_started_at=hold.stripe_call_started_at).update(
            stripe_call_started_at=None
        )
        raise
    with transaction.atomic():
        settled = PaymentAuthorization.objects.select_for_update().get(pk=hold.pk)
        _apply_intent(settled, intent, source=AuthorizationSettlement.Source.API)
    return settled


def _ask_stripe_to_settle(hold: PaymentAuthorization) -> gateways.IntentData:
    """Captures the claimed amount or cancels the intent, as the claim says."""
    try:
        if hold.status == Status.CAPTURING:
            return gateways.payment_intent_capture(
                payment_intent_id=hold.payment_intent_id,
                amount=hold.amount_to_capture,
                idempotency_key=f"capture-{hold.pk}",
            )
        return gateways.payment_intent_cancel(
            payment_intent_id=hold.payment_intent_id, idempotency_key=f"release-{hold.pk}"
        )
    except StripeRequestRejected:
        # Refused: the hold expired, or an earlier attempt already went through. Stripe's
        # state of the intent is the truth to record.
        intent = gateways.payment_intent_retrieve(hold.payment_intent_id)
        if intent.status not in ("succeeded", "canceled"):
            raise
        return intent


def authorizations_finish_in_flight(*, grace: timedelta = IN_FLIGHT_GRACE) -> int:
    """Completes captures and releases whose worker died after claiming them. Returns how
    many were settled; the others are left for the next run."""
    settled = 0
    for authorization in selectors.authorizations_in_flight(updated_before=timezone.now() - grace):
        try:
            settled += _settle_claimed(authorization).is_settled
        except StripeServiceError:
            logger.warning("Could not finish settling %s; will retry", authorization.payment_intent_id)
    return settled


# --- Premium subscription -----------------------------------------------------------------


def subscription_checkout_start(*, user: User, interval: str, plan: str = User.Plan.PREMIUM) -> str:
    """A Stripe Checkout URL for `plan` (premium, the only paid one) billed every
    `interval` (`002_*` §7). The plan changes when Stripe's webhook says the subscription
    is paid, not here."""
    if plan != User.Plan.PREMIUM:
        raise ValidationFailed.for_field("plan", "Premium is the only plan to buy.")
    if interval not in PREMIUM_INTERVALS:
        raise ValidationFailed.for_field("interval", "Choose month or year.")
    price_id = stripe_config().premium_price(interval)
    if not price_id:
        raise ServiceUnavailable("Premium plan is not configured.")
    current = selectors.subscription_current(user=user)
    if current is not None and current.is_premium:
        raise AlreadySubscribed()
    customer = customer_ensure(user=user)
    billing_url = f"{settings.SITE_URL}{reverse('billing:index')}"
    return gateways.checkout_session_create(
        customer_id=customer.customer_id,
        price_id=price_id,
        user_id=str(user.pk),
        success_url=f"{billing_url}?checkout=success",
        cancel_url=f"{billing_url}?checkout=canceled",
        idempotency_key=_fresh_key("checkout", customer.pk),
    )


def subscription_cancel(*, user: User, reason: str = "") -> Subscription:
    """Stops premium at the end of the paid period; asking twice changes nothing."""
    subscription = selectors.subscription_current(user=user)
    if subscription is None or not subscription.is_premium:
        raise NotFound("You have no active subscription.")
    if not subscription.cancel_at_period_end:
        fetched_at = timezone.now()
        data = gateways.subscription_cancel_at_period_end(
            subscription_id=subscription.stripe_subscription_id, idempotency_key=f"cancel-{subscription.pk}"
        )
        subscription = _subscription_apply(data, fetched_at=fetched_at) or subscription
    if reason:
        subscription.cancel_reason = reason[:500]
        subscription.save(update_fields=["cancel_reason", "updated_at"])
    return subscription


@dataclass(frozen=True)
class SubscriptionSnapshot:
    """A subscription as Stripe reported it at `fetched_at`."""

    data: gateways.SubscriptionData
    fetched_at: datetime


def subscription_read(*, subscription_id: str) -> SubscriptionSnapshot | None:
    """Reads a subscription's current state from Stripe (None if Stripe does not know it).
    Events only tell us which subscription changed: reading the current state makes their
    order irrelevant. Only reads: call it before any transaction."""
    fetched_at = timezone.now()
    try:
        data = gateways.subscription_retrieve(subscription_id)
    except StripeRequestRejected as error:
        if error.is_missing:
            logger.info("Subscription %s is unknown to Stripe; ignored", subscription_id)
            return None
        raise
    return SubscriptionSnapshot(data=data, fetched_at=fetched_at)


def subscription_sync(*, snapshot: SubscriptionSnapshot | None) -> Subscription | None:
    """Records what `subscription_read` returned and moves the user between plans."""
    if snapshot is None:
        return None
    return _subscription_apply(snapshot.data, fetched_at=snapshot.fetched_at)


def subscription_id_from_checkout(*, session: gateways.CheckoutSessionData) -> str | None:
    """The subscription a finished Checkout created for one of our customers (its own events
    may come later), or None."""
    if session.mode != "subscription" or not session.subscription:
        return None
    customer = StripeCustomer.objects.filter(customer_id=session.customer).first()
    if customer is None or session.client_reference_id not in ("", str(customer.user_id)):
        logger.warning("Checkout session %s does not match one of our customers; ignored", session.id)
        return None
    return session.subscription


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _subscription_apply(data: gateways.SubscriptionData, *, fetched_at: datetime) -> Subscription | None:
    """Records Stripe's state read at `fetched_at`, unless a later read is already recorded,
    and moves the user between free and premium."""
    customer = StripeCustomer.objects.select_related("user").filter(customer_id=data.customer).first()
    if customer is None:
        logger.info("Subscription %s belongs to no customer of ours; ignored", data.id)
        return None
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(stripe_subscription_id=data.id).first()
        if subscription is None:
            subscription = Subscription(user=customer.user, stripe_subscription_id=data.id)
        elif fetched_at < subscription.fetched_at:
            return subscription
        subscription.status = data.status
        subscription.price_id = data.price_id
        subscription.interval = data.interval
        subscription.current_period_end = _timestamp(data.current_period_end)
        subscription.cancel_at_period_end = data.cancel_at_period_end
        subscription.cancel_at = _timestamp(data.cancel_at)
        subscription.ended_at = _timestamp(data.ended_at)
        subscription.fetched_at = fetched_at
        subscription.save()
        premium = Subscription.objects.filter(user=customer.user, status__in=Subscription.PREMIUM_STATUSES).exists()
        user_set_plan(user=customer.user, plan=User.Plan.PREMIUM if premium else User.Plan.FREE)
    return subscription


def invoice_sync(*, invoice: gateways.InvoiceData, state_as_of: int) -> Invoice | None:
    """Records an invoice from its event. Paid and void are final; otherwise only a newer
    event's snapshot replaces an older one."""
    customer = StripeCustomer.objects.filter(customer_id=invoice.customer).first()
    if customer is None:
        return None
    with transaction.atomic():
        record = Invoice.objects.select_for_update().filter(stripe_invoice_id=invoice.id).first()
        if record is None:
            record = Invoice(user_id=customer.user_id, stripe_invoice_id=invoice.id)
        elif record.status in Invoice.FINAL_STATUSES or state_as_of < record.state_as_of:
            return record
        record.stripe_subscription_id = invoice.subscription
        record.number = invoice.number
        record.status = invoice.status
        record.currency = invoice.currency
        record.amount_due = invoice.amount_due
        record.amount_paid = invoice.amount_paid
        record.hosted_invoice_url = invoice.hosted_invoice_url
        record.invoice_pdf = invoice.invoice_pdf
        record.period_start = _timestamp(invoice.period_start)
        record.period_end = _timestamp(invoice.period_end)
        record.issued_at = _timestamp(invoice.created) or timezone.now()
        record.state_as_of = state_as_of
        record.save()
    return record
