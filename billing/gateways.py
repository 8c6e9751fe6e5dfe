"""The only code that talks to Stripe (or to localstripe, which speaks the same API).

Every function returns plain typed data and raises billing's own errors, so nothing else in
the project depends on the SDK: card declines become `PaymentDeclined` (402), requests
Stripe refuses become `StripeRequestRejected`, outages `StripeTemporaryError`. Every POST
carries the idempotency key its caller derives from our own records, so a retried request
is answered by Stripe with the first result instead of being done twice.
"""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import stripe

from billing.conf import MAX_NETWORK_RETRIES, stripe_config
from billing.errors import (
    InvalidWebhookSignature,
    MalformedWebhookEvent,
    PaymentDeclined,
    StripeRequestRejected,
    StripeServiceError,
    StripeTemporaryError,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerData:
    id: str
    balance: int


@dataclass(frozen=True)
class CardData:
    id: str
    type: str
    customer: str | None
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class IntentData:
    id: str
    status: str
    amount: int
    amount_received: int | None
    client_secret: str = field(repr=False)
    # When the card network drops the hold (the charge's `capture_before`), if Stripe says.
    capture_before: int | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SubscriptionData:
    id: str
    customer: str
    status: str
    price_id: str
    interval: str
    current_period_end: int | None
    cancel_at_period_end: bool
    cancel_at: int | None
    ended_at: int | None


@dataclass(frozen=True)
class InvoiceData:
    id: str
    customer: str
    subscription: str
    number: str
    status: str
    currency: str
    amount_due: int
    amount_paid: int
    hosted_invoice_url: str
    invoice_pdf: str
    created: int
    period_start: int | None
    period_end: int | None


@dataclass(frozen=True)
class CheckoutSessionData:
    id: str
    mode: str
    customer: str
    subscription: str
    client_reference_id: str


# --- Parsing Stripe objects (API answers and webhook payloads alike) ----------------------


def _id(value: Any) -> str:
    """An expandable field: the id string, or the expanded object's id."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def parse_card(obj: dict[str, Any]) -> CardData:
    card = obj.get("card") or {}
    return CardData(
        id=str(obj["id"]),
        type=str(obj.get("type") or ""),
        customer=_id(obj.get("customer")) or None,
        brand=str(card.get("brand") or ""),
        last4=str(card.get("last4") or ""),
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
    )


def parse_intent(obj: dict[str, Any]) -> IntentData:
    charge = obj.get("latest_charge")  # expanded only when we asked for it
    details = charge.get("payment_method_details") if isinstance(charge, dict) else None
    card_details = (details or {}).get("card") or {}
    return IntentData(
        id=str(obj["id"]),
        status=str(obj.get("status") or ""),
        amount=int(obj.get("amount") or 0),
        amount_received=obj.get("amount_received"),
        client_secret=str(obj.get("client_secret") or ""),
        capture_before=card_details.get("capture_before"),
        metadata={str(key): str(value) for key, value in (obj.get("metadata") or {}).items()},
    )


def parse_subscription(obj: dict[str, Any]) -> SubscriptionData:
    items = (obj.get("items") or {}).get("data") or [{}]
    item = items[0]
    # Newer API versions keep the price and the period on the item; older ones (and
    # localstripe) on a plan and on the subscription itself.
    price = item.get("price") or item.get("plan") or obj.get("plan") or {}
    recurring = price.get("recurring") or {}
    return SubscriptionData(
        id=str(obj["id"]),
        customer=_id(obj.get("customer")),
        status=str(obj.get("status") or ""),
        price_id=_id(price),
        interval=str(recurring.get("interval") or price.get("interval") or ""),
        current_period_end=item.get("current_period_end") or obj.get("current_period_end"),
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        cancel_at=obj.get("cancel_at"),
        ended_at=obj.get("ended_at"),
    )


def parse_invoice(obj: dict[str, Any]) -> InvoiceData:
    parent = (obj.get("parent") or {}).get("subscription_details") or {}
    lines = (obj.get("lines") or {}).get("data") or [{}]
    period = lines[0].get("period") or {}
    return InvoiceData(
        id=str(obj["id"]),
        customer=_id(obj.get("customer")),
        subscription=_id(parent.get("subscription") or obj.get("subscription")),
        number=str(obj.get("number") or ""),
        status=str(obj.get("status") or ""),
        currency=str(obj.get("currency") or ""),
        amount_due=int(obj.get("amount_due") or 0),
        amount_paid=int(obj.get("amount_paid") or 0),
        hosted_invoice_url=str(obj.get("hosted_invoice_url") or ""),
        invoice_pdf=str(obj.get("invoice_pdf") or ""),
        created=int(obj.get("created") or obj.get("date") or 0),
        period_start=obj.get("period_start") or period.get("start"),
        period_end=obj.get("period_end") or period.get("end"),
    )


def parse_checkout_session(obj: dict[str, Any]) -> CheckoutSessionData:
    return CheckoutSessionData(
        id=str(obj["id"]),
        mode=str(obj.get("mode") or ""),
        customer=_id(obj.get("customer")),
        subscription=_id(obj.get("subscription")),
        client_reference_id=str(obj.get("client_reference_id") or ""),
    )


# --- The client and error translation -----------------------------------------------------


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def _v1() -> Any:
    config = stripe_config()
    return _client(config.secret_key, config.api_base, config.timeout).v1


@contextmanager
def _stripe_call(operation: str) -> Iterator[None]:
    """Turns the SDK's exceptions into billing's, and logs them without secrets."""
    try:
        yield
    except stripe.CardError as exc:
        error = (exc.json_body or {}).get("error") or {}
        logger.info("Stripe %s declined: code=%s decline_code=%s", operation, exc.code, error.get("decline_code"))
        raise PaymentDeclined.from_stripe(exc.code, error.get("decline_code")) from None
    except (stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
        logger.warning("Stripe %s rejected (HTTP %s, code=%s)", operation, exc.http_status, exc.code)
        raise StripeRequestRejected(stripe_code=exc.code, http_status=exc.http_status) from None
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        logger.warning("Stripe %s unavailable: %s (HTTP %s)", operation, exc.__class__.__name__, exc.http_status)
        raise StripeTemporaryError() from None
    except stripe.StripeError as exc:
        logger.error("Stripe %s failed: %s (HTTP %s)", operation, exc.__class__.__name__, exc.http_status)
        raise StripeServiceError() from None


def _options(idempotency_key: str) -> dict[str, str]:
    return {"idempotency_key": idempotency_key}


# --- Customers and cards ------------------------------------------------------------------


def customer_create(*, email: str, name: str, user_id: str, idempotency_key: str) -> CustomerData:
    with _stripe_call("customer create"):
        customer = _v1().customers.create(
            params={"email": email, "name": name, "metadata": {"user_id": user_id}},
            options=_options(idempotency_key),
        )
    data = customer.to_dict()
    return CustomerData(id=data["id"], balance=int(data.get("balance") or 0))


def customer_set_default_payment_method(*, customer_id: str, payment_method_id: str, idempotency_key: str) -> None:
    """The card Stripe charges for subscription invoices."""
    with _stripe_call("customer update"):
        _v1().customers.update(
            customer_id,
            params={"invoice_settings": {"default_payment_method": payment_method_id}},
            options=_options(idempotency_key),
        )


def setup_intent_create(*, customer_id: str, idempotency_key: str) -> str:
    """A SetupIntent for saving a card with Stripe.js; returns its client secret (never logged)."""
    with _stripe_call("setup intent create"):
        intent = _v1().setup_intents.create(
            params={"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"]},
            options=_options(idempotency_key),
        )
    return str(intent.client_secret)


def payment_method_retrieve(payment_method_id: str) -> CardData:
    with _stripe_call("payment method retrieve"):
        return parse_card(_v1().payment_methods.retrieve(payment_method_id).to_dict())


def payment_method_attach(*, payment_method_id: str, customer_id: str, idempotency_key: str) -> CardData:
    with _stripe_call("payment method attach"):
        method = _v1().payment_methods.attach(
            payment_method_id, params={"customer": customer_id}, options=_options(idempotency_key)
        )
    return parse_card(method.to_dict())


def payment_method_detach(*, payment_method_id: str, idempotency_key: str) -> None:
    with _stripe_call("payment method detach"):
        _v1().payment_methods.detach(payment_method_id, options=_options(idempotency_key))


# --- Pre-authorisations -------------------------------------------------------------------


def payment_intent_authorize(
    *,
    amount: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    off_session: bool,
    metadata: dict[str, str],
    idempotency_key: str,
) -> IntentData:
    """Places a hold for `amount` on the card: a confirmed PaymentIntent with manual capture."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "customer": customer_id,
        "payment_method": payment_method_id,
        "payment_method_types": ["card"],
        "capture_method": "manual",
        "confirm": True,
        "metadata": metadata,
        "expand": ["latest_charge"],
    }
    if off_session:
        params["off_session"] = True
    with _stripe_call("payment intent create"):
        intent = _v1().payment_intents.create(params=params, options=_options(idempotency_key))
    return parse_intent(intent.to_dict())


def payment_intent_retrieve(payment_intent_id: str) -> IntentData:
    with _stripe_call("payment intent retrieve"):
        return parse_intent(_v1().payment_intents.retrieve(payment_intent_id).to_dict())


def payment_intents_of_customer(*, customer_id: str, created_since: int) -> list[IntentData]:
    """The customer's intents created since `created_since` (Unix time), newest first, every page."""
    params: dict[str, Any] = {"customer": customer_id, "created": {"gte": created_since}, "limit": 100}
    with _stripe_call("payment intent list"):
        page = _v1().payment_intents.list(params=params)
        return [parse_intent(intent.to_dict()) for intent in page.auto_paging_iter()]


def payment_intent_capture(*, payment_intent_id: str, amount: int, idempotency_key: str) -> IntentData:
    """Takes `amount` of the hold; Stripe releases the rest."""
    with _stripe_call("payment intent capture"):
        intent = _v1().payment_intents.capture(
            payment_intent_id, params={"amount_to_capture": amount}, options=_options(idempotency_key)
        )
    return parse_intent(intent.to_dict())


def payment_intent_cancel(*, payment_intent_id: str, idempotency_key: str) -> IntentData:
    """Releases the whole hold."""
    with _stripe_call("payment intent cancel"):
        intent = _v1().payment_intents.cancel(payment_intent_id, options=_options(idempotency_key))
    return parse_intent(intent.to_dict())


# --- Premium subscription -----------------------------------------------------------------


def checkout_session_create(
    *,
    customer_id: str,
    price_id: str,
    user_id: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> str:
    """A Stripe Checkout page for the subscription; returns its URL."""
    with _stripe_call("checkout session create"):
        session = _v1().checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": user_id,
                "line_items": [{"price": price_id, "quantity": 1}],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "metadata": {"user_id": user_id},
                "subscription_data": {"metadata": {"user_id": user_id}},
            },
            options=_options(idempotency_key),
        )
    return str(session.url)


def subscription_retrieve(subscription_id: str) -> SubscriptionData:
    with _stripe_call("subscription retrieve"):
        return parse_subscription(_v1().subscriptions.retrieve(subscription_id).to_dict())


def subscription_cancel_at_period_end(*, subscription_id: str, idempotency_key: str) -> SubscriptionData:
    with _stripe_call("subscription update"):
        subscription = _v1().subscriptions.update(
            subscription_id, params={"cancel_at_period_end": True}, options=_options(idempotency_key)
        )
    return parse_subscription(subscription.to_dict())


# --- Webhooks -----------------------------------------------------------------------------


def webhook_event_verify(*, payload: bytes, signature: str | None, secret: str, tolerance: int) -> dict[str, Any]:
    """Checks `Stripe-Signature` over the raw body and returns the event as a plain dict."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        raise InvalidWebhookSignature() from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise MalformedWebhookEvent() from None
    if not _is_event(event):
        raise MalformedWebhookEvent()
    return event


def _is_event(event: Any) -> bool:
    """The fields every handler relies on: an id, a type, a time and the object."""
    if not isinstance(event, dict):
        return False
    data = event.get("data")
    return (
        all(isinstance(event.get(key), str) and event[key] for key in ("id", "type"))
        and isinstance(event.get("created"), int)
        and isinstance(data, dict)
        and isinstance(data.get("object"), dict)
        and isinstance(data["object"].get("id"), str)
    )
