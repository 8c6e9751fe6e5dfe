"""Prints `export NAME=value` lines pointing the app at the local Twilio (for scripts/run)."""

import shlex

from callmeback.stand_ins import LOCALTWILIO_SETTINGS

for name, value in LOCALTWILIO_SETTINGS.items():
    print(f"export {name}={shlex.quote(value)}")
