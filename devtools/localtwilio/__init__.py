"""A local Twilio: the subset of Twilio's REST API we use, on 127.0.0.1, plus a phone page.

`manage.py run_localtwilio` serves it (started by `scripts/run` when `TWILIO_ACCOUNT_SID`
is unset) and the test suite runs it in a thread (`tests/fakes/twilio.py`). The `twilio`
SDK reaches it through `TWILIO_API_BASE`, which maps api.twilio.com and verify.twilio.com
onto this one server, so requests are routed by path. It speaks Twilio's wire format:
form-encoded requests, HTTP basic auth with the account SID and auth token, Twilio's JSON
and error bodies, and signed status callbacks.

This package does not use Django: it is a stand-in for an outside service. Its address and
credentials are callmeback.stand_ins', which the deploy check refuses. Its modules, from
the bottom up: state (records) and errors; callbacks and media; account (what everything
acts on); lifecycle (calls played out); rest/ and phone (the routes); server (the app).
"""
