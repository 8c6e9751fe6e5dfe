"""A signed-in user adds cards on the billing page with Stripe Elements (localstripe's
stand-in Stripe.js, served by localstripe itself), makes one default and sees them listed."""

import pytest
from playwright.sync_api import expect

from billing.models import PaymentMethod
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.fakes.localstripe_server import LocalStripeServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def localstripe(settings) -> LocalStripeServer:
    """No Stripe keys: the page loads Stripe.js from localstripe and the app talks to it."""
    server = LocalStripeServer.shared()
    server.reset()
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    return server


def _log_in(page, user) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()


def _add_card(page, number: str) -> None:
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("10001")
    page.get_by_role("button", name="Add card").click()
    expect(page.get_by_text(f"Card ending in {number[-4:]} added.")).to_be_visible()


def test_add_a_card_make_it_default_and_see_it_listed(page, localstripe):
    user = UserFactory()
    _log_in(page, user)
    page.get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Billing")).to_be_visible()
    expect(page.get_by_text("No card on file yet")).to_be_visible()

    _add_card(page, "4242424242424242")
    visa = page.locator(".billing-card", has_text="4242")
    expect(visa).to_contain_text("Visa •••• 4242")
    expect(visa).to_contain_text("expires 12/2030")
    expect(visa).to_contain_text("Default")

    _add_card(page, "5555555555554444")
    second = page.locator(".billing-card", has_text="4444")
    expect(second).not_to_contain_text("Default")

    second.get_by_role("button", name="Make default").click()
    expect(page.get_by_text("Default card updated.")).to_be_visible()
    expect(page.locator(".billing-card").first).to_contain_text("4444")
    expect(page.locator(".billing-card", has_text="4444")).to_contain_text("Default")
    expect(page.locator(".billing-card", has_text="4242")).not_to_contain_text("Default")

    default = PaymentMethod.objects.get(user=user, is_default=True)
    assert default.last4 == "4444"
    customer = localstripe.client().v1.customers.retrieve(user.stripe_customer.customer_id)
    assert customer.invoice_settings.default_payment_method == default.stripe_id
    assert localstripe.client().v1.payment_methods.retrieve(default.stripe_id).customer == customer.id


def test_a_declined_card_shows_the_reason_and_is_not_listed(page, localstripe):
    _log_in(page, UserFactory())
    page.goto("/billing")
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill("4000000000000002")
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    page.get_by_role("button", name="Add card").click()

    expect(page.locator("#card-errors")).to_have_text("Your card was declined.")
    expect(page.locator(".billing-card")).to_have_count(0)
    assert not PaymentMethod.objects.exists()
