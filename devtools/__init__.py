"""Tooling only development and tests run: the local Twilio and its phone page
(`localtwilio`), the local Stripe's server and card script (`localstripe`), Twilio's side
of a media stream (`stream_client`) and the commands `run_localtwilio`, `run_localstripe`
and `simulate_call`.

Production never loads it: settings add this app only with DEBUG on or `DEVTOOLS=true`,
and no production module imports it.
"""
