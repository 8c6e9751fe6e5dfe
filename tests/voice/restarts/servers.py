"""Private PostgreSQL and Redis servers a test may stop, start and restart for real, and the
app's processes (uvicorn serving `callmeback.asgi`, a Celery worker) running against them.

The machine's shared PostgreSQL and Redis are never touched: each server here is started by
the test in a temporary directory, on a free loopback port, and removed afterwards.
PostgreSQL refuses to run as root, so under root (as in CI) its commands run as the
`postgres` user.
"""

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from devtools.processes import free_port

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT_SECONDS = 60
POSTGRES_USER = "postgres"


def wait_for_port(port: int, *, process: subprocess.Popen | None = None, timeout: float = START_TIMEOUT_SECONDS):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the process for port {port} exited ({process.returncode})") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port} after {timeout:g} s") from None
            time.sleep(0.1)


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb, pg_ctl), with one database."""

    def __init__(self, directory: Path, database: str = "callmeback") -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.database = database
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            owner = pwd.getpwnam(POSTGRES_USER)  # KeyError: no `postgres` user to run it as
            os.chown(directory, owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", POSTGRES_USER, "--"] if self._as_postgres else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=START_TIMEOUT_SECONDS)

    def create(self) -> "PrivatePostgres":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: every connection is cut, as a database restart does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


class PrivateRedis:
    """A Redis of the test's own that keeps nothing on disk: restarted, it has forgotten all."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log = directory / "redis.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, cwd=self.directory, stdout=log, stderr=log)
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=START_TIMEOUT_SECONDS)
        self.process = None


class AppProcesses:
    """The app as production runs it, against the private servers: uvicorn serving
    `callmeback.asgi` and a Celery worker, both with `environment`."""

    def __init__(self, directory: Path, environment: dict[str, str], port: int) -> None:
        self.directory = directory
        self.environment = environment
        self.port = port
        self.log = directory / "app.log"
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def manage(self, *arguments: str) -> str:
        """A command of the app's (manage.py, or `-m module`) in its environment; its output."""
        command = [sys.executable, *arguments] if arguments[0] == "-m" else [sys.executable, "manage.py", *arguments]
        done = subprocess.run(
            command, cwd=ROOT, env=self.environment, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> "AppProcesses":
        web = [sys.executable, "-m", "uvicorn", "callmeback.asgi:application", "--host", "127.0.0.1"]
        worker = [sys.executable, "-m", "celery", "-A", "callmeback", "worker", "--pool", "solo", "--loglevel", "INFO"]
        with open(self.log, "a") as log:
            for command in ([*web, "--port", str(self.port), "--no-access-log"], worker):
                self.processes.append(
                    subprocess.Popen(command, cwd=ROOT, env=self.environment, stdout=log, stderr=log)
                )
        wait_for_port(self.port, process=self.processes[0])
        return self

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def temporary_directory() -> Path:
    """Under /tmp (which every user may cross), so the `postgres` user can reach its data."""
    directory = Path(tempfile.mkdtemp(prefix="cmb-restarts-"))
    directory.chmod(0o755)
    return directory


def remove_directory(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
