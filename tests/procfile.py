"""The production layout's processes, started from the `Procfile` itself, for the tests that
prove the app runs as many processes over PostgreSQL and Redis: whatever the Procfile says
a web process or a worker runs is what these tests run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def procfile_commands() -> dict[str, str]:
    """The Procfile's process types and their commands."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, command = line.split(":", 1)
            commands[kind.strip()] = command.strip()
    return commands


class ProcfileProcesses:
    """Starts Procfile processes (each in its own process group, its output in a log file),
    and stops every one it started."""

    def __init__(self, *, env: dict[str, str], log_dir: Path) -> None:
        # The virtualenv's commands (uvicorn, celery) first on the PATH, as in the image.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        self.env = os.environ | {"DJANGO_SETTINGS_MODULE": "callmeback.settings", "PATH": path} | env
        self.log_dir = log_dir
        self.commands = procfile_commands()
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, kind: str, name: str, **env: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 (kept open for the process's life)
        process = subprocess.Popen(
            ["sh", "-c", f"exec {self.commands[kind]}"],
            cwd=ROOT,
            env=self.env | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_web(self, name: str, *, port: int) -> str:
        """A web process on `port`; returns its URL once /health answers."""
        process = self.start("web", name, PORT=str(port))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.log(name)}")
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    return url
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} never answered /health:\n{self.log(name)}")
            time.sleep(0.1)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()
