"""Stripe configuration, resolved in one place.

With `STRIPE_SECRET_KEY` set the app talks to Stripe. Without it the app talks to
localstripe on 127.0.0.1 (`manage.py run_localstripe` from devtools, started by
`scripts/run`): test keys, localstripe's API and its stand-in Stripe.js, so cards and
payments work on one machine with no account. The webhook secret always comes from the environment
(`scripts/run` generates one for localstripe to sign with). Settings are read on every call, so overrides apply at once.
"""

from dataclasses import dataclass, field

from django.conf import settings

from callmeback.stand_ins import LOCALSTRIPE_PUBLISHABLE_KEY, LOCALSTRIPE_SECRET_KEY, LOCALSTRIPE_URL

STRIPE_JS_URL = "https://js.stripe.com/v3/"
PREMIUM_INTERVALS = ("month", "year")
# The SDK retries connection errors and 5xx answers with the same idempotency key.
MAX_NETWORK_RETRIES = 2


@dataclass(frozen=True)
class StripeConfig:
    secret_key: str = field(repr=False)
    publishable_key: str
    api_base: str  # "" means Stripe's own API
    js_url: str
    webhook_secret: str = field(repr=False)
    webhook_tolerance: int
    currency: str
    timeout: float
    premium_prices: dict[str, str]
    local: bool

    def premium_price(self, interval: str) -> str:
        """The Stripe price id for the premium plan billed every `interval`, or ""."""
        return self.premium_prices.get(interval, "")


def stripe_config() -> StripeConfig:
    local = not settings.STRIPE_SECRET_KEY
    api_base = (settings.STRIPE_API_BASE or (LOCALSTRIPE_URL if local else "")).rstrip("/")
    js_url = settings.STRIPE_JS_URL
    if local and js_url == STRIPE_JS_URL:
        # The real Stripe.js cannot talk to localstripe; its stand-in is served here.
        js_url = f"{api_base}/js.stripe.com/v3/"
    return StripeConfig(
        secret_key=settings.STRIPE_SECRET_KEY or LOCALSTRIPE_SECRET_KEY,
        publishable_key=settings.STRIPE_PUBLISHABLE_KEY or (LOCALSTRIPE_PUBLISHABLE_KEY if local else ""),
        api_base=api_base,
        js_url=js_url,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        webhook_tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        currency=settings.STRIPE_CURRENCY.lower(),
        timeout=settings.STRIPE_TIMEOUT_SECONDS,
        premium_prices={"month": settings.STRIPE_PREMIUM_PRICE_MONTH, "year": settings.STRIPE_PREMIUM_PRICE_YEAR},
        local=local,
    )
