"""The person's Stripe customer and the cards on it: adding one (tokenised by Stripe.js),
choosing the default, removing one, and following Stripe's card events."""

import logging
import re
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from billing import gateways, selectors
from billing.errors import CannotRemoveDefault, StripeRequestRejected
from billing.models import PaymentMethod, StripeCustomer
from callmeback.errors import NotFound, ValidationFailed

logger = logging.getLogger(__name__)

PAYMENT_METHOD_ID = re.compile(r"pm_[A-Za-z0-9_]{1,250}")


def fresh_idempotency_key(kind: str, *parts: object) -> str:
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
        customer_id=customer.customer_id, idempotency_key=fresh_idempotency_key("setup", customer.pk)
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
            idempotency_key=fresh_idempotency_key("default", card.id),
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
        idempotency_key=fresh_idempotency_key("default", method.stripe_id),
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
