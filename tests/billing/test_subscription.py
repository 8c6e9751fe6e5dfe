"""`002_*` §7 and §9: the premium plan through Stripe Checkout, kept in step by the webhook.

Subscriptions and invoices live in localstripe; Checkout Sessions, which it lacks, in the
loopback front.
"""

import pytest
from django.conf import settings as django_settings

from accounts.models import User
from billing.models import Invoice, Subscription
from tests.billing.conftest import PRICE_MONTH, PRICE_YEAR, stripe_event
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def premium_prices(settings):
    settings.STRIPE_PREMIUM_PRICE_MONTH = PRICE_MONTH
    settings.STRIPE_PREMIUM_PRICE_YEAR = PRICE_YEAR


@pytest.fixture
def stripe_subscription(card_user, stripe_client) -> dict:
    """What a completed Checkout leaves in Stripe: a paid monthly subscription."""
    stripe_client.v1.plans.create(
        params={
            "id": PRICE_MONTH,
            "amount": 999,
            "currency": "usd",
            "interval": "month",
            "product": {"name": "Premium"},
        }
    )
    return stripe_client.v1.subscriptions.create(
        params={"customer": card_user.stripe_customer.customer_id, "items": [{"plan": PRICE_MONTH}]}
    ).to_dict()


def _checkout_completed(user, subscription: dict) -> dict:
    session = {
        "id": "cs_test_done",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": subscription["customer"],
        "subscription": subscription["id"],
        "client_reference_id": str(user.pk),
    }
    return stripe_event("checkout.session.completed", session)


@pytest.fixture
def premium_user(card_user, stripe_subscription, send_event):
    send_event(_checkout_completed(card_user, stripe_subscription))
    card_user.refresh_from_db()
    return card_user


# --- checkout -----------------------------------------------------------------------------


def test_checkout_without_configured_prices_is_503(auth_client):
    response = auth_client.post("/api/billing/subscription/checkout", {"interval": "month"}, format="json")

    assert response.status_code == 503
    assert response.json() == {
        "error": "SERVICE_UNAVAILABLE",
        "message": "Premium plan is not configured.",
        "details": {},
    }


def test_checkout_returns_a_stripe_checkout_url_for_the_chosen_price(auth_client, user, premium_prices, front):
    response = auth_client.post(
        "/api/billing/subscription/checkout", {"plan": "premium", "interval": "year"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["checkout_url"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    (sent,) = front.sent("POST", "/v1/checkout/sessions")
    assert sent.form["mode"] == "subscription"
    assert sent.form["line_items[0][price]"] == PRICE_YEAR
    assert sent.form["line_items[0][quantity]"] == "1"
    assert sent.form["customer"] == user.stripe_customer.customer_id
    assert sent.form["client_reference_id"] == str(user.pk)
    assert sent.form["success_url"] == f"{django_settings.SITE_URL}/billing?checkout=success"
    assert sent.form["cancel_url"] == f"{django_settings.SITE_URL}/billing?checkout=canceled"
    assert sent.idempotency_key.startswith("checkout-")


@pytest.mark.parametrize("body", [{}, {"interval": "week"}, {"interval": "month", "plan": "gold"}])
def test_checkout_with_a_bad_interval_or_plan_is_a_validation_error(auth_client, premium_prices, body):
    response = auth_client.post("/api/billing/subscription/checkout", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"


def test_checkout_when_already_premium_is_409(premium_user, premium_prices):
    response = client_for(premium_user).post("/api/billing/subscription/checkout", {"interval": "month"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "ALREADY_SUBSCRIBED"


# --- the webhook keeps the plan in step ---------------------------------------------------


def test_free_user_has_no_subscription(auth_client):
    response = auth_client.get("/api/billing/subscription")

    assert response.json() == {"plan": "free", "status": None, "current_period_end": None, "cancel_at": None}


def test_completed_checkout_makes_the_user_premium(premium_user, stripe_subscription):
    assert premium_user.plan == User.Plan.PREMIUM
    body = client_for(premium_user).get("/api/billing/subscription").json()
    assert body["plan"] == "premium"
    assert body["status"] == "active"
    assert body["current_period_end"] is not None
    assert body["cancel_at"] is None
    subscription = Subscription.objects.get(stripe_subscription_id=stripe_subscription["id"])
    assert (subscription.price_id, subscription.interval) == (PRICE_MONTH, "month")


def test_checkout_for_someone_else_is_ignored(card_user, stripe_subscription, send_event, user_factory):
    event = _checkout_completed(user_factory(), stripe_subscription)

    assert send_event(event).status_code == 200

    card_user.refresh_from_db()
    assert card_user.plan == User.Plan.FREE


def test_deleted_subscription_returns_the_user_to_free(premium_user, stripe_subscription, stripe_client, send_event):
    deleted = stripe_client.v1.subscriptions.cancel(stripe_subscription["id"]).to_dict()

    send_event(stripe_event("customer.subscription.deleted", deleted))

    premium_user.refresh_from_db()
    assert premium_user.plan == User.Plan.FREE
    assert client_for(premium_user).get("/api/billing/subscription").json()["status"] == "canceled"


def test_stale_updated_event_after_deletion_keeps_the_user_free(
    premium_user, stripe_subscription, stripe_client, send_event
):
    deleted = stripe_client.v1.subscriptions.cancel(stripe_subscription["id"]).to_dict()
    send_event(stripe_event("customer.subscription.deleted", deleted, created=2_000_000_000))

    send_event(stripe_event("customer.subscription.updated", stripe_subscription, created=1_900_000_000))

    premium_user.refresh_from_db()
    assert premium_user.plan == User.Plan.FREE


def test_subscription_events_before_checkout_completed_already_upgrade(card_user, stripe_subscription, send_event):
    send_event(stripe_event("customer.subscription.created", stripe_subscription))

    card_user.refresh_from_db()
    assert card_user.plan == User.Plan.PREMIUM


# --- cancelling ---------------------------------------------------------------------------


def test_cancel_ends_premium_at_the_period_end(premium_user, stripe_subscription, localstripe, front):
    client = client_for(premium_user)

    first = client.post("/api/billing/subscription/cancel", {"reason": "Too pricey"}, format="json")
    second = client.post("/api/billing/subscription/cancel", {}, format="json")

    assert first.status_code == second.status_code == 200
    subscription = Subscription.objects.get(stripe_subscription_id=stripe_subscription["id"])
    ends_at = subscription.current_period_end.isoformat().replace("+00:00", "Z")
    assert first.json() == {"message": "Subscription will end at the end of the billing period", "ends_at": ends_at}
    assert second.json()["ends_at"] == ends_at
    assert subscription.cancel_reason == "Too pricey"
    assert localstripe.get(f"/v1/subscriptions/{stripe_subscription['id']}")["cancel_at_period_end"] is True
    assert len(front.sent("POST", f"/v1/subscriptions/{stripe_subscription['id']}")) == 1
    premium_user.refresh_from_db()
    assert premium_user.plan == User.Plan.PREMIUM
    assert client.get("/api/billing/subscription").json()["cancel_at"] == ends_at


def test_cancel_without_a_subscription_is_404(auth_client):
    response = auth_client.post("/api/billing/subscription/cancel", {}, format="json")

    assert response.status_code == 404
    assert response.json()["message"] == "You have no active subscription."


# --- invoices -----------------------------------------------------------------------------


def _stripe_invoice(stripe_client, customer_id: str) -> dict:
    return stripe_client.v1.invoices.list(params={"customer": customer_id}).data[0].to_dict()


def test_paid_invoice_is_listed_in_dollars(premium_user, stripe_client, send_event):
    invoice = _stripe_invoice(stripe_client, premium_user.stripe_customer.customer_id)

    send_event(stripe_event("invoice.paid", invoice))

    body = client_for(premium_user).get("/api/billing/invoices").json()
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1}
    (listed,) = body["invoices"]
    assert listed["id"] == invoice["id"]
    assert listed["status"] == "paid"
    assert listed["amount_due"] == listed["amount_paid"] == 9.99


def test_paid_invoice_upgrades_even_before_the_subscription_event(
    card_user, stripe_subscription, stripe_client, send_event
):
    invoice = _stripe_invoice(stripe_client, card_user.stripe_customer.customer_id)

    send_event(stripe_event("invoice.paid", invoice))

    card_user.refresh_from_db()
    assert card_user.plan == User.Plan.PREMIUM


def test_older_payment_failed_after_paid_keeps_the_invoice_paid(premium_user, stripe_client, send_event):
    invoice = _stripe_invoice(stripe_client, premium_user.stripe_customer.customer_id)
    send_event(stripe_event("invoice.paid", invoice, created=2_000_000_000))

    send_event(stripe_event("invoice.payment_failed", {**invoice, "status": "open"}, created=1_999_999_000))

    assert Invoice.objects.get(stripe_invoice_id=invoice["id"]).status == "paid"


def test_newer_invoice_snapshot_replaces_an_older_one(premium_user, stripe_client, send_event):
    invoice = _stripe_invoice(stripe_client, premium_user.stripe_customer.customer_id)
    send_event(stripe_event("invoice.payment_failed", {**invoice, "status": "open"}, created=1_999_999_000))

    send_event(stripe_event("invoice.paid", invoice, created=2_000_000_000))

    assert Invoice.objects.get(stripe_invoice_id=invoice["id"]).status == "paid"


def test_invoices_of_unknown_customers_are_ignored(send_event):
    invoice = {"id": "in_stranger", "object": "invoice", "customer": "cus_stranger", "status": "paid"}

    assert send_event(stripe_event("invoice.paid", invoice)).status_code == 200
    assert not Invoice.objects.exists()


def test_checkout_names_the_plan_it_refuses(auth_client, premium_prices):
    response = auth_client.post(
        "/api/billing/subscription/checkout", {"interval": "month", "plan": "free"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["details"] == {"plan": ["Premium is the only plan to buy."]}
