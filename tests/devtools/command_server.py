"""Runs a development server's management command (`run_localstripe`, `run_localtwilio`) as
its own process on a free port, as `scripts/run` does, so a test can restart it and see what
it kept between runs."""

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start_server(command: str, *options: str) -> tuple[subprocess.Popen, str]:
    """Starts `manage.py <command> --port 0 <options>`; returns the process and the URL it
    listens on, once it has bound its socket."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", command, "--port", "0", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # blocks until the server has bound its socket
    match = re.search(r"listening on (http://\S+)", line)
    if match is None:
        process.kill()
        pytest.fail(f"{command} did not start: {line!r}")
    return process, match.group(1)


@contextmanager
def serving(command: str, *options: str) -> Iterator[str]:
    """Starts the command's server, yields the URL it listens on and stops the process when
    the block ends."""
    process, url = start_server(command, *options)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
