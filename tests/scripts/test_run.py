"""scripts/run: starts every service, prints where the app answers once it does, and on
Ctrl-C or SIGTERM stops each service exactly once and exits cleanly."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from devtools.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
FAKE_SERVICE = Path(__file__).with_name("fake_service.py")
SERVICES = ("web", "worker", "beat")


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _logs(tmp_path: Path) -> dict[str, list[str]]:
    return {name: (tmp_path / name).read_text().split() for name in SERVICES if (tmp_path / name).exists()}


def _start_supervisor(tmp_path: Path, *, crashing: str = "", crashes: int = 0, env: dict | None = None):
    """scripts/lib.sh supervising fake services, the way scripts/run supervises the real ones."""
    others = " ".join(name for name in SERVICES if name != crashing)
    starts = "\n".join(
        f"start_service {name} {sys.executable} {FAKE_SERVICE} {tmp_path / name}"
        + (f" crash {crashes} {others}" if name == crashing else "")
        for name in SERVICES
    )
    script = f"set -euo pipefail\nsource scripts/lib.sh\nstop_services_on_exit\n{starts}\nwait_for_services\n"
    # A session of its own, like a terminal's foreground job, so a signal can go to the group.
    return subprocess.Popen(
        ["bash", "-c", script],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | (env or {}),
    )


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda process: process.send_signal(signal.SIGTERM), id="sigterm-to-the-script"),
        pytest.param(lambda process: os.killpg(process.pid, signal.SIGINT), id="ctrl-c-at-the-terminal"),
    ],
)
def test_stopping_the_script_stops_each_service_once_and_exits_cleanly(tmp_path, send):
    process = _start_supervisor(tmp_path)
    _wait_for(
        lambda: all(log == ["started"] for log in _logs(tmp_path).values()) and len(_logs(tmp_path)) == 3,
        30,
        "the services",
    )

    send(process)
    process.wait(timeout=30)

    assert process.returncode == 0
    assert _logs(tmp_path) == {name: ["started", "SIGTERM", "stopped"] for name in SERVICES}


def test_a_service_stopping_on_its_own_is_restarted_and_the_others_run_on(tmp_path):
    process = _start_supervisor(tmp_path, crashing="worker", crashes=1)
    _wait_for(lambda: _logs(tmp_path).get("worker") == ["started", "started"], 30, "the worker's restart")

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

    assert process.returncode == 0
    assert _logs(tmp_path) == {
        "worker": ["started", "started", "SIGTERM", "stopped"],
        "web": ["started", "SIGTERM", "stopped"],
        "beat": ["started", "SIGTERM", "stopped"],
    }
    assert "worker stopped (exit status 3); restarting in 1 s" in process.stderr.read()


def test_a_service_that_keeps_dying_is_restarted_after_a_doubling_delay_up_to_the_cap(tmp_path):
    process = _start_supervisor(tmp_path, crashing="worker", crashes=3, env={"RESTART_MAX_DELAY": "2"})
    _wait_for(lambda: _logs(tmp_path).get("worker", []).count("started") == 4, 30, "the worker's fourth run")

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

    restarts = re.findall(r"worker stopped \(exit status 3\); restarting in (\d+) s", process.stderr.read())
    assert restarts == ["1", "2", "2"]
    assert _logs(tmp_path)["worker"][-2:] == ["SIGTERM", "stopped"]


class RunningScript:
    """scripts/run in a session of its own, its output collected line by line."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "SECRET_KEY": "run-script-test-secret-key",
            "PORT": str(self.port),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CELERY_BROKER_URL": "memory://",
            # Real-looking keys: no localstripe, so the developer's local Stripe data is untouched.
            "STRIPE_SECRET_KEY": "sk_test_run_script",
            "STRIPE_WEBHOOK_SECRET": "whsec_run_script",
            # No Twilio keys: the local Twilio runs too, on a port of its own.
            "LOCALTWILIO_PORT": str(free_port()),
        }
        self.process = subprocess.Popen(
            ["scripts/run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_output(self, pattern: str, *, count: int = 1, timeout: float = 300) -> None:
        _wait_for(lambda: len(re.findall(pattern, self.output)) >= count, timeout, f"{pattern!r} in\n{self.output}")

    def service_pids(self) -> dict[str, int]:
        """The script's children by what they run (their command line)."""
        children = subprocess.check_output(["pgrep", "-P", str(self.process.pid)], text=True).split()
        return {Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "): int(pid) for pid in children}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.reader.join(timeout=10)


@pytest.fixture
def running(tmp_path):
    script = RunningScript(tmp_path)
    yield script
    if script.process.poll() is None:
        script.stop()


def _both_workers_ready(running: RunningScript, *, count: int = 1) -> None:
    # Their signal handlers are in place once they are ready; then SIGTERM means a warm shutdown.
    running.wait_for_output(r"celery@\S+ ready", count=count, timeout=120)
    running.wait_for_output(r"dispatch@\S+ ready", timeout=120)


def _assert_stopped(pids) -> None:
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_run_prints_its_address_once_the_app_answers_and_stops_every_service_once(running):
    running.wait_for_output("Create an admin account with")  # the banner's last line
    assert f"running at http://127.0.0.1:{running.port} " in running.output
    assert "ring on the local phone page: http://127.0.0.1:" in running.output
    assert requests.get(f"http://127.0.0.1:{running.port}/health", timeout=5).status_code == 200
    _both_workers_ready(running)
    service_pids = running.service_pids()

    running.stop()

    assert running.process.returncode == 0, running.output
    assert len(service_pids) == 5  # web, the two workers, beat and the local Twilio
    assert any("--queues dispatch" in command for command in service_pids)
    assert running.output.count("Warm shutdown") == 2
    assert not re.search(r"celery\S* v\d+\.\d+", running.output)  # no Celery banner buries ours
    _assert_stopped(service_pids.values())


def test_run_restarts_a_killed_worker_and_still_stops_everything_on_sigterm(running):
    running.wait_for_output("Create an admin account with")
    _both_workers_ready(running)
    (worker,) = [pid for command, pid in running.service_pids().items() if "--queues celery" in command]
    pool = [int(pid) for pid in subprocess.check_output(["pgrep", "-P", str(worker)], text=True).split()]

    os.kill(worker, signal.SIGKILL)

    running.wait_for_output(r"celery-worker stopped \(exit status 137\); restarting in 1 s")
    _both_workers_ready(running, count=2)
    (restarted,) = [pid for command, pid in running.service_pids().items() if "--queues celery" in command]
    assert restarted != worker
    _assert_stopped([worker, *pool])  # the dead worker's pool went with it
    service_pids = running.service_pids()
    assert len(service_pids) == 5

    running.stop()

    assert running.process.returncode == 0, running.output
    _assert_stopped(service_pids.values())
