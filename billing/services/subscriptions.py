"""The premium subscription: Stripe Checkout to start it, cancelling at the period's end,
and Stripe's subscription and invoice events recorded in the order Stripe's state was read."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import user_set_plan
from billing import gateways, selectors
from billing.conf import PREMIUM_INTERVALS, stripe_config
from billing.errors import AlreadySubscribed, ServiceUnavailable, StripeRequestRejected
from billing.models import Invoice, StripeCustomer, Subscription
from billing.services.payment_methods import customer_ensure, fresh_idempotency_key
from callmeback.errors import NotFound, ValidationFailed

logger = logging.getLogger(__name__)


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
        idempotency_key=fresh_idempotency_key("checkout", customer.pk),
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


def _from_epoch(value: int | None) -> datetime | None:
    """Stripe's Unix times as aware UTC datetimes (0 and None: not set)."""
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
        subscription.current_period_end = _from_epoch(data.current_period_end)
        subscription.cancel_at_period_end = data.cancel_at_period_end
        subscription.cancel_at = _from_epoch(data.cancel_at)
        subscription.ended_at = _from_epoch(data.ended_at)
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
        record.period_start = _from_epoch(invoice.period_start)
        record.period_end = _from_epoch(invoice.period_end)
        record.issued_at = _from_epoch(invoice.created) or timezone.now()
        record.state_as_of = state_as_of
        record.save()
    return record
