"""Which Stripe the app talks to: localstripe on 127.0.0.1 without keys, Stripe with them."""

import pytest

from billing.conf import LOCALSTRIPE_URL, stripe_config
from billing.localstripe import card_brand


def test_without_keys_the_app_uses_localstripe_on_loopback(settings):
    settings.STRIPE_API_BASE = ""

    config = stripe_config()

    assert config.local is True
    assert (config.secret_key, config.publishable_key) == ("sk_test_local", "pk_test_local")
    assert config.api_base == LOCALSTRIPE_URL == "http://127.0.0.1:8420"
    assert config.js_url == "http://127.0.0.1:8420/js.stripe.com/v3/"


def test_with_keys_the_app_uses_stripe(settings):
    settings.STRIPE_SECRET_KEY = "sk_live_abcdef"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_live_abcdef"
    settings.STRIPE_API_BASE = ""

    config = stripe_config()

    assert config.local is False
    assert config.api_base == ""  # the SDK's own default, api.stripe.com
    assert config.js_url == "https://js.stripe.com/v3/"
    assert "sk_live" not in repr(config)


def test_a_configured_stripe_js_url_is_kept_in_local_mode(settings):
    settings.STRIPE_JS_URL = "https://cdn.example.test/stripe.js"

    assert stripe_config().js_url == "https://cdn.example.test/stripe.js"


def test_the_webhook_secret_comes_only_from_the_environment(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.DEBUG = True

    assert stripe_config().webhook_secret == ""


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3566002020360505", "jcb"),
        ("36227206271667", "diners"),
        ("6200000000000005", "unionpay"),
        ("9999999999999995", "unknown"),
    ],
)
def test_local_stripe_reports_the_brand_of_a_test_card(number, brand):
    assert card_brand(number) == brand
