"""Where the local stand-ins for Twilio and Stripe listen, and the development-only
credentials they accept.

They live here, below every app, because production reads them too: billing.conf falls
back to localstripe when no Stripe key is set, and the deploy check (callmeback.checks)
refuses all of them. devtools serves the stand-ins with these values. Nothing real is
reachable with them.
"""

LOOPBACK_HOST = "127.0.0.1"

LOCALSTRIPE_PORT = 8420
LOCALSTRIPE_URL = f"http://{LOOPBACK_HOST}:{LOCALSTRIPE_PORT}"
LOCALSTRIPE_SECRET_KEY = "sk_test_local"
LOCALSTRIPE_PUBLISHABLE_KEY = "pk_test_local"

LOCALTWILIO_PORT = 8430
LOCALTWILIO_ACCOUNT_SID = "AC10ca1000000000000000000000000000"
LOCALTWILIO_AUTH_TOKEN = "local_auth_token_development_only"
LOCALTWILIO_VERIFY_SERVICE_SID = "VA10ca1000000000000000000000000000"
# 555-01xx numbers are reserved for fiction in North America.
LOCALTWILIO_CALLER_ID = "+14155550100"

# The Twilio settings pointing the app at the local Twilio (scripts/run exports them
# through `python -m devtools.localtwilio` when TWILIO_ACCOUNT_SID is unset).
LOCALTWILIO_SETTINGS = {
    "TWILIO_ACCOUNT_SID": LOCALTWILIO_ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": LOCALTWILIO_AUTH_TOKEN,
    "TWILIO_VERIFY_SERVICE_SID": LOCALTWILIO_VERIFY_SERVICE_SID,
    "TWILIO_CALLER_ID": LOCALTWILIO_CALLER_ID,
}
