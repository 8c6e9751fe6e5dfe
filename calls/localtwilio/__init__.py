"""A local Twilio: the subset of Twilio's REST API we use, on 127.0.0.1, plus a phone page.

`manage.py run_localtwilio` serves it (started by `scripts/run` when `TWILIO_ACCOUNT_SID`
is unset) and the test suite runs it in a thread (`tests/fakes/twilio.py`). The `twilio`
SDK reaches it through `TWILIO_API_BASE`, which maps api.twilio.com and verify.twilio.com
onto this one server, so requests are routed by path. It speaks Twilio's wire format:
form-encoded requests, HTTP basic auth with the account SID and auth token, Twilio's JSON
and error bodies, and signed status callbacks.

This package does not import Django: it is a stand-in for an outside service.
"""

LOCALTWILIO_HOST = "127.0.0.1"
LOCALTWILIO_PORT = 8430
# Local-only credentials, like billing.conf's LOCAL keys: nothing real is reachable with them.
LOCAL_ACCOUNT_SID = "AC10ca1000000000000000000000000000"
LOCAL_AUTH_TOKEN = "local_auth_token_development_only"
LOCAL_VERIFY_SERVICE_SID = "VA10ca1000000000000000000000000000"
# 555-01xx numbers are reserved for fiction in North America.
LOCAL_CALLER_ID = "+14155550100"

# What scripts/run exports when TWILIO_ACCOUNT_SID is unset (`python -m calls.localtwilio`).
LOCAL_ENVIRONMENT = {
    "TWILIO_ACCOUNT_SID": LOCAL_ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": LOCAL_AUTH_TOKEN,
    "TWILIO_VERIFY_SERVICE_SID": LOCAL_VERIFY_SERVICE_SID,
    "TWILIO_CALLER_ID": LOCAL_CALLER_ID,
}
