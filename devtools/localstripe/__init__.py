"""The local Stripe: localstripe's server on 127.0.0.1 (`server`) and the Stripe.js stand-in
it serves (`localstripe-v3.js`). `manage.py run_localstripe` runs it; the test suite runs it
in a thread (tests/fakes/localstripe_server.py)."""
