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


def test_run_prints_its_address_once_the_app_answers_and_stops_every_service_once(tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "SECRET_KEY": "run-script-test-secret-key",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        # Real-looking keys: no localstripe, so the developer's local Stripe data is untouched.
        "STRIPE_SECRET_KEY": "sk_test_run_script",
        "STRIPE_WEBHOOK_SECRET": "whsec_run_script",
        # No Twilio keys: the local Twilio runs too, on a port of its own.
        "LOCALTWILIO_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        ["scripts/run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    banner, worker_ready = threading.Event(), threading.Event()

    def read() -> None:
        for line in process.stdout:
            lines.append(line)
            if "Create an admin account with" in line:  # the banner's last line
                banner.set()
            if re.search(r"celery@\S+ ready", line):
                worker_ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert banner.wait(timeout=300), "".join(lines)
        assert f"running at http://127.0.0.1:{port} " in "".join(lines)
        assert "ring on the local phone page: http://127.0.0.1:" in "".join(lines)
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        # Its signal handlers are in place once it is ready; then SIGTERM means a warm shutdown.
        assert worker_ready.wait(timeout=120), "".join(lines)
        service_pids = [
            int(pid) for pid in subprocess.check_output(["pgrep", "-P", str(process.pid)], text=True).split()
        ]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)

    output = "".join(lines)
    assert process.returncode == 0, output
    assert len(service_pids) == 4  # web, worker, beat and the local Twilio
    assert output.count("Warm shutdown") == 1
    assert not re.search(r"celery\S* v\d+\.\d+", output)  # no Celery banner buries ours
    for pid in service_pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
