"""Signals calls' services send, so that what reacts to them (a Celery task queued in
`calls.tasks`, connected in every process by `CallsConfig.ready`) is never imported by the
services themselves."""

from django.dispatch import Signal

# A live call's stream was asked for the persona's goodbye (after commit); `call` is the Call.
# `calls.tasks` answers with the safety net that hangs up if the stream never does.
goodbye_requested = Signal()
