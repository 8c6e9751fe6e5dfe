"""A stand-in service for the scripts/run tests: notes every signal it gets in a log file.

It takes a moment to stop after SIGTERM, like Celery's warm shutdown, so a script that
signals it again meanwhile is caught. `exit-after NAME...` makes it stop on its own, with
status 3, once the services logging to NAME... (next to its own log) have started.
"""

import signal
import sys
import time
from pathlib import Path

log = Path(sys.argv[1])
stopping = []


def note(line: str) -> None:
    with log.open("a") as file:
        file.write(f"{line}\n")


def on_signal(signum, frame) -> None:
    note(signal.Signals(signum).name)
    stopping.append(signum)


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
runs_before = log.read_text().split().count("started") if log.exists() else 0
note("started")
if sys.argv[2:3] == ["crash"] and runs_before < int(sys.argv[3]):
    others = [log.with_name(name) for name in sys.argv[4:]]
    deadline = time.monotonic() + 30
    while not all(other.exists() for other in others) and time.monotonic() < deadline:
        time.sleep(0.05)
    sys.exit(3)
while not stopping:
    signal.pause()
time.sleep(0.5)  # the shutdown itself; a second signal now would be noted
note("stopped")
