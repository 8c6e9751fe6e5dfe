"""Rate limits of the billing endpoints (`000_*` §6, §9, `002_*` §7), shared by the API and
the dashboard: one counter per limit. The Stripe webhook has none (it is signed)."""

from callmeback.ratelimit import RateLimit

BILLING_INFO = RateLimit("billing.info", "30/min")
CARD_SETUP = RateLimit("billing.card-setup", "20/hour")
CARD_ADD = RateLimit("billing.card-add", "10/hour")
CARD_REMOVE = RateLimit("billing.card-remove", "20/min")
CARD_DEFAULT = RateLimit("billing.card-default", "20/min")
PAYMENT_INTENT_CREATE = RateLimit("billing.payment-intent-create", "10/min")
PAYMENT_INTENT_CANCEL = RateLimit("billing.payment-intent-cancel", "20/min")
SUBSCRIPTION = RateLimit("billing.subscription", "60/min")
CHECKOUT = RateLimit("billing.checkout", "10/min")
CANCEL_SUBSCRIPTION = RateLimit("billing.cancel-subscription", "10/min")
INVOICES = RateLimit("billing.invoices", "60/min")
