"""Prints `export NAME=value` lines pointing the app at the local Twilio (for scripts/run)."""

import shlex

from calls.localtwilio import LOCAL_ENVIRONMENT

for name, value in LOCAL_ENVIRONMENT.items():
    print(f"export {name}={shlex.quote(value)}")
