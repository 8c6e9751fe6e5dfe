"""Real Celery worker and beat processes for the booked-call integration tests and the
scheduler benchmark: the same commands `scripts/run` uses, on the Redis broker, against
the test database and this process's local Twilio and localstripe."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], *, timeout: float, message: str, every: float = 0.1) -> None:
    """Polls `condition` until it holds; fails with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(every)


class CeleryProcesses:
    """Starts and stops worker and beat processes; `stop_all()` ends whatever is left."""

    def __init__(self, *, env: dict[str, str], log_dir: Path) -> None:
        self.env = os.environ | {"DJANGO_SETTINGS_MODULE": "callmeback.settings"} | env
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, arguments: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 (kept open for the process's life)
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "callmeback", *arguments],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_worker(
        self, name: str, *, pool: str = "solo", concurrency: int = 1, queues: str = "celery,dispatch"
    ) -> subprocess.Popen:
        """A worker on `queues`: by default both, so one worker does everything a test needs."""
        return self._start(
            name,
            [
                "worker",
                "--queues",
                queues,
                "--hostname",
                f"{name}@%h",
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
        )

    def start_beat(self, name: str = "beat") -> subprocess.Popen:
        return self._start(name, ["beat", "--schedule", str(self.log_dir / f"{name}-schedule"), "--loglevel", "INFO"])

    def stop(self, name: str, *, kill: bool = False) -> None:
        """SIGTERM (a warm shutdown) or SIGKILL (a crash) to the process and its children."""
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name, kill=True)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()
