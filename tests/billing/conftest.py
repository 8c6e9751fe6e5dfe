"""Billing tests run the real `stripe` SDK over HTTP against localstripe, and against the
loopback `StripeFront` for Checkout and for answers localstripe cannot give."""

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe
from django.db import OperationalError, connections, transaction

from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from billing.services import payment_methods
from tests.fakes.localstripe_server import LocalStripeServer
from tests.fakes.stripe_front import StripeFront

WEBHOOK_SECRET = "whsec_test_billing_suite"
PRICE_MONTH = "price_premium_month"
PRICE_YEAR = "price_premium_year"


@pytest.fixture(scope="session")
def localstripe() -> LocalStripeServer:
    return LocalStripeServer.shared()


@pytest.fixture(scope="session")
def stripe_front(localstripe) -> StripeFront:
    return StripeFront(upstream=localstripe.url).start()


@pytest.fixture(autouse=True)
def _stripe_settings(settings, localstripe, stripe_front):
    """No Stripe keys: the app runs in local mode against this suite's localstripe."""
    localstripe.reset()
    stripe_front.reset()
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_API_BASE = localstripe.url
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PREMIUM_PRICE_MONTH = ""
    settings.STRIPE_PREMIUM_PRICE_YEAR = ""
    settings.STRIPE_CURRENCY = "usd"


@pytest.fixture
def front(settings, stripe_front) -> StripeFront:
    """Routes the app's Stripe requests through the front (which forwards to localstripe)."""
    settings.STRIPE_API_BASE = stripe_front.url
    return stripe_front


@pytest.fixture
def stripe_client(localstripe) -> stripe.StripeClient:
    return localstripe.client()


@pytest.fixture
def make_card(stripe_client) -> Callable[..., str]:
    """Tokenises a test card in localstripe, as Stripe.js would; returns its `pm_...` id."""

    def make(number: str = "4242424242424242") -> str:
        card = {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
        return stripe_client.v1.payment_methods.create(params={"type": "card", "card": card}).id

    return make


@pytest.fixture
def card_user(user, make_card):
    """A user with a default Visa ending 4242 on file."""
    payment_methods.payment_method_add(user=user, payment_method_id=make_card(), set_as_default=True)
    return user


@pytest.fixture
def authorization(card_user) -> PaymentAuthorization:
    """A $4.25 hold for a call expected to last 10 minutes."""
    return billing_holds.authorization_create(user=card_user, estimated_duration=10).authorization


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


def stripe_event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None):
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": event_type,
        "created": created if created is not None else int(time.time()),
        "data": {"object": obj},
    }


@pytest.fixture
def send_event(api_client):
    """Delivers a signed event to the webhook, as Stripe would."""

    def send(event: dict[str, Any], **sign_options):
        payload = json.dumps(event)
        return api_client.post(
            "/api/stripe/webhook",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(payload, **sign_options),
        )

    return send


def row_lock_free(model, **lookup) -> bool:
    """Whether another connection could lock the row right now (False while someone holds it)."""
    try:
        with transaction.atomic():
            model.objects.select_for_update(nowait=True).get(**lookup)
        return True
    except OperationalError:
        return False
    finally:
        connections.close_all()
