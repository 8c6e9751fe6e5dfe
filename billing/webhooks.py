"""The Stripe webhook (`000_*` §7.2, `002_*` §9): verify the signature, store each event
once, apply it once.

Stripe delivers at least once and in any order. An event is stored by id and applied in
the transaction that marks it processed, so a duplicate delivery finds it processed and
changes nothing. The handlers tolerate any order: holds and cards only move forward,
invoices take only newer snapshots, and subscriptions are re-read from Stripe.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing import gateways
from billing.conf import stripe_config
from billing.errors import ServiceUnavailable
from billing.models import StripeEvent
from billing.services import holds, payment_methods, subscriptions

logger = logging.getLogger(__name__)


# A handler reads what it needs from Stripe (reads are safe to repeat, and no lock is held)
# and returns the writes, which run in the transaction that marks the event processed.
Apply = Callable[[], object]


def _payment_intent(obj: dict[str, Any], event: StripeEvent) -> Apply:
    intent = gateways.parse_intent(obj)
    return lambda: holds.authorization_sync_intent(intent=intent)


def _payment_method_attached(obj: dict[str, Any], event: StripeEvent) -> Apply:
    card = payment_methods.payment_method_read_attached(card=gateways.parse_card(obj))
    return lambda: card is not None and payment_methods.payment_method_sync_attached(card=card)


def _payment_method_detached(obj: dict[str, Any], event: StripeEvent) -> Apply:
    return lambda: payment_methods.payment_method_sync_detached(payment_method_id=str(obj["id"]))


def _read_subscription(subscription_id: str | None) -> Apply:
    snapshot = subscriptions.subscription_read(subscription_id=subscription_id) if subscription_id else None
    return lambda: subscriptions.subscription_sync(snapshot=snapshot)


def _checkout_completed(obj: dict[str, Any], event: StripeEvent) -> Apply:
    session = gateways.parse_checkout_session(obj)
    return _read_subscription(subscriptions.subscription_id_from_checkout(session=session))


def _subscription(obj: dict[str, Any], event: StripeEvent) -> Apply:
    return _read_subscription(str(obj["id"]))


def _invoice(obj: dict[str, Any], event: StripeEvent) -> Apply:
    """The invoice, and the subscription it bills re-read, so a paid invoice upgrades the
    plan even if the subscription's own event is late."""
    invoice = gateways.parse_invoice(obj)
    sync_subscription = _read_subscription(invoice.subscription)

    def apply() -> None:
        subscriptions.invoice_sync(invoice=invoice, state_as_of=event.created)
        sync_subscription()

    return apply


HANDLERS: dict[str, Callable[[dict[str, Any], StripeEvent], Apply]] = {
    "payment_intent.succeeded": _payment_intent,
    "payment_intent.payment_failed": _payment_intent,
    "payment_intent.canceled": _payment_intent,
    "payment_intent.amount_capturable_updated": _payment_intent,
    "payment_method.attached": _payment_method_attached,
    "payment_method.detached": _payment_method_detached,
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription,
    "customer.subscription.updated": _subscription,
    "customer.subscription.deleted": _subscription,
    "invoice.paid": _invoice,
    "invoice.payment_failed": _invoice,
}


def stripe_event_receive(*, payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verifies and applies one delivery. Returns the event and whether it was a duplicate.

    Stripe is read first, with no transaction open; the event is then locked, applied and
    marked processed in one short transaction. A handler that fails rolls back its effects
    and leaves the event unprocessed, with the error noted for the admin; the error answer
    makes Stripe deliver it again later.
    """
    config = stripe_config()
    if not config.webhook_secret:
        raise ServiceUnavailable("Stripe webhooks are not configured.")
    data = gateways.webhook_event_verify(
        payload=payload, signature=signature, secret=config.webhook_secret, tolerance=config.webhook_tolerance
    )
    event, _ = StripeEvent.objects.get_or_create(
        event_id=data["id"], defaults={"type": data["type"], "payload": data, "created": data["created"]}
    )
    if event.processed_at is not None:
        return event, True
    try:
        handler = HANDLERS.get(event.type)
        apply = handler(event.payload["data"]["object"], event) if handler is not None else None
        with transaction.atomic():
            event = StripeEvent.objects.select_for_update().get(pk=event.pk)
            if event.processed_at is not None:
                return event, True
            if apply is not None:
                apply()
            event.processed_at = timezone.now()
            event.attempts += 1
            event.save(update_fields=["processed_at", "attempts"])
    except Exception as error:
        StripeEvent.objects.filter(pk=event.pk).update(
            attempts=F("attempts") + 1, last_error=f"{error.__class__.__name__}: {error}"[:500]
        )
        logger.exception("Stripe event %s (%s) failed", event.event_id, event.type)
        raise
    return event, False
