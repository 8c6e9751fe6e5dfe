"""What streaming a call's recording costs the web server, through the real ASGI server.

Starts a loopback Twilio that serves one recording of `megabytes` MB (generated as it is
sent, so the bench itself holds none of it), starts uvicorn in a subprocess pointed at it,
and fetches the recording's signed link (`GET /api/recordings/<token>`) with `listeners`
downloads at once, while sampling the server process's resident memory every 20 ms. Prints
time to the first byte, throughput, and the server's memory before and at its peak: a
server that buffered the file would grow by `listeners` times the file's size.

    DATABASE_URL=postgres://... .venv/bin/python bench/recording_stream.py [megabytes] [listeners]
"""

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")

import django

django.setup()

import requests  # noqa: E402
from aiohttp import web  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from devtools.processes import database_url, free_port  # noqa: E402
from tests.fakes.loopback import LoopbackServer  # noqa: E402

BASE_DIR = Path(__file__).resolve().parents[1]
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token"
BLOCK = bytes(64 * 1024)


class RecordingTwilio(LoopbackServer):
    """Serves any recording as `size` bytes of silence, written 64 KB at a time."""

    name = "bench-recordings"

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/2010-04-01/Accounts/{account}/Recordings/{name}", self._recording)]

    async def _recording(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/x-wav", "Content-Length": str(self.size)})
        await response.prepare(request)
        left = self.size
        while left:
            block = BLOCK[: min(left, len(BLOCK))]
            await response.write(block)
            left -= len(block)
        await response.write_eof()
        return response


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_server(port: int, twilio_url: str) -> subprocess.Popen:
    env = os.environ | {
        "DATABASE_URL": database_url(),
        "DEBUG": "False",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "RATELIMIT_ENABLED": "False",
        "LOG_LEVEL": "WARNING",
        "TWILIO_API_BASE": twilio_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    }
    command = [
        *(sys.executable, "-m", "uvicorn", "callmeback.asgi:application", "--host", "127.0.0.1", "--port", str(port)),
        *("--no-access-log", "--lifespan", "off"),  # as scripts/run serves it
    ]
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except requests.ConnectionError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("uvicorn did not start")


def recording_path() -> str:
    """A person, a finished call and its recording in the scratch database; the signed link's path."""
    from accounts.models import User
    from calls.models import Call, CallRecording
    from calls.services.recordings import recording_link

    user = User.objects.create(email="bench@example.com", name="Bench", phone="+14155550100", password="!")
    call = Call.objects.create(user=user, persona_name="Coach", phone_number=user.phone, status=Call.Status.COMPLETED)
    CallRecording.objects.create(call=call, sid="RE" + "c" * 32, status="completed", duration=3600, channels=2)
    link, _ = recording_link(call=call)
    return link.removeprefix(settings.SITE_URL)


def download(url: str) -> tuple[float, float, int]:
    """(seconds to the first byte, seconds to the last, bytes)."""
    start = time.perf_counter()
    first = None
    received = 0
    with requests.get(url, stream=True, timeout=120) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=64 * 1024):
            first = first if first is not None else time.perf_counter() - start
            received += len(chunk)
    return first or 0.0, time.perf_counter() - start, received


def main() -> None:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    listeners = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (the server subprocess shares the database).")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    twilio = RecordingTwilio(megabytes * 1024 * 1024).start()
    server = None
    try:
        path = recording_path()
        port = free_port()
        server = start_server(port, twilio.url)
        url = f"http://127.0.0.1:{port}{path}"
        download(url)  # warm up: imports, first connections
        before = rss_kib(server.pid)
        peak = before
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.02):
                peak = max(peak, rss_kib(server.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(listeners) as pool:
            results = list(pool.map(download, [url] * listeners))
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        firsts = sorted(first for first, _, _ in results)
        total = sum(size for _, _, size in results)
        print(f"{listeners} listeners x {megabytes} MB recording through uvicorn (one process), loopback Twilio")
        print(f"time to first byte: min {firsts[0] * 1000:.0f} ms, max {firsts[-1] * 1000:.0f} ms")
        print(f"throughput: {total / wall / 2**20:.0f} MB/s in all ({wall:.1f} s for {total / 2**20:.0f} MB)")
        print(
            f"server memory: {before / 1024:.0f} MB before, {peak / 1024:.0f} MB at peak "
            f"(+{(peak - before) / 1024:.1f} MB; buffering would add {listeners * megabytes} MB)"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        twilio.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
