"""Which Stripe the app talks to: localstripe on 127.0.0.1 without keys, Stripe with them."""

from billing.conf import stripe_config
from callmeback.stand_ins import LOCALSTRIPE_URL


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
