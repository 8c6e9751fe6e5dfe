"""The billing page and its endpoints (session auth + CSRF), on the same services as the API."""

import pytest
from django.test import Client

from billing.models import PaymentMethod
from billing.services import holds as billing_holds
from billing.services import payment_methods
from tests.billing.conftest import PRICE_MONTH
from tests.conftest import client_for


@pytest.fixture
def browser(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/billing")  # sets the CSRF cookie, as a page visit would
    return client


def _post(client: Client, path: str, data: dict | None = None):
    return client.post(path, data or {}, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def test_billing_page_requires_login(client):
    response = client.get("/billing")

    assert response.status_code == 302
    assert response["Location"].startswith("/login")


def test_billing_page_loads_stripe_js_from_localstripe_without_keys(browser, localstripe):
    page = browser.get("/billing").content.decode()

    assert f'<script src="{localstripe.url}/js.stripe.com/v3/"></script>' in page
    assert 'data-publishable-key="pk_test_local"' in page
    assert "No card on file yet" in page


def test_billing_page_loads_stripe_js_from_stripe_with_keys(browser, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_configured"

    page = browser.get("/billing").content.decode()

    assert '<script src="https://js.stripe.com/v3/"></script>' in page
    assert 'data-publishable-key="pk_test_configured"' in page


def test_billing_page_lists_cards_charges_and_plan(browser, card_user, settings):
    settings.STRIPE_PREMIUM_PRICE_MONTH = PRICE_MONTH
    authorization = billing_holds.authorization_create(user=card_user, estimated_duration=10).authorization
    billing_holds.authorization_capture(authorization=authorization, seconds=330)

    page = browser.get("/billing").content.decode()

    assert "Visa •••• 4242" in page
    assert "$4.25" in page and "$2.45" in page
    assert "Upgrade, billed monthly" in page
    assert "billed yearly" not in page  # no yearly price configured


def test_card_setup_returns_a_setup_intent_client_secret(browser, user):
    response = _post(browser, "/billing/cards/setup")

    assert response.status_code == 200
    assert response.json()["client_secret"].startswith("seti_")
    assert user.stripe_customer.customer_id.startswith("cus_")


def test_card_endpoints_need_the_csrf_token(browser, make_card):
    response = browser.post("/billing/cards", {"payment_method_id": make_card()})

    assert response.status_code == 403
    assert not PaymentMethod.objects.exists()


def test_adding_a_card_records_the_pm_id_from_stripe_js(browser, user, make_card):
    card_id = make_card()

    response = _post(browser, "/billing/cards", {"payment_method_id": card_id})

    assert response.status_code == 201
    assert response.json()["payment_method"]["id"] == card_id
    assert PaymentMethod.objects.get(stripe_id=card_id).user == user


def test_adding_an_unknown_card_answers_in_the_envelope(browser):
    response = _post(browser, "/billing/cards", {"payment_method_id": "pm_nothing_here"})

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"


def test_make_default_and_remove_from_the_page(browser, card_user, make_card):
    first = card_user.payment_methods.get()
    second = payment_methods.payment_method_add(user=card_user, payment_method_id=make_card("5555555555554444"))

    response = _post(browser, f"/billing/cards/{second.stripe_id}/default")

    assert response.status_code == 302
    assert PaymentMethod.objects.get(pk=second.pk).is_default is True
    _post(browser, f"/billing/cards/{first.stripe_id}/remove")
    assert PaymentMethod.objects.get(pk=first.pk).detached_at is not None
    assert "Card removed." in browser.get("/billing").content.decode()


def test_removing_the_default_card_from_the_page_explains_why_not(browser, card_user):
    default = card_user.payment_methods.get()

    response = _post(browser, f"/billing/cards/{default.stripe_id}/remove")

    assert response.status_code == 302
    page = browser.get("/billing").content.decode()
    assert "Cannot remove the default payment method" in page
    assert PaymentMethod.objects.get(pk=default.pk).detached_at is None


def test_upgrade_redirects_to_stripe_checkout(browser, settings, front):
    settings.STRIPE_PREMIUM_PRICE_MONTH = PRICE_MONTH

    response = _post(browser, "/billing/subscription/checkout", {"interval": "month"})

    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.test/c/pay/")


def test_upgrade_without_configured_prices_explains_why(browser):
    _post(browser, "/billing/subscription/checkout", {"interval": "month"})

    assert "Premium plan is not configured." in browser.get("/billing").content.decode()


def test_back_from_checkout_shows_a_message_once(browser):
    response = browser.get("/billing?checkout=success")

    assert response.status_code == 302
    assert "Your premium plan starts" in browser.get(response["Location"]).content.decode()


def test_card_brands_are_shown_as_people_know_them(browser, user):
    for stripe_id, brand in (("pm_mc", "mastercard"), ("pm_amex", "amex"), ("pm_odd", "unknown")):
        PaymentMethod.objects.create(
            user=user, stripe_id=stripe_id, type="card", brand=brand, last4="4444", exp_month=1, exp_year=2031
        )

    page = browser.get("/billing").content.decode()

    assert "Mastercard •••• 4444" in page
    assert "American Express •••• 4444" in page
    assert "Card •••• 4444" in page


def test_card_removal_limit_is_one_allowance_shared_by_the_api_and_the_dashboard(browser, user):
    api = client_for(user)
    for _ in range(10):
        api.delete("/api/user/payment-method/pm_unknown")
    for _ in range(10):
        _post(browser, "/billing/cards/pm_unknown/remove")

    assert api.delete("/api/user/payment-method/pm_unknown").status_code == 429
    page = browser.get(_post(browser, "/billing/cards/pm_unknown/remove")["Location"]).content.decode()
    assert "Too many requests" in page
