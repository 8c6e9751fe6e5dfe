"""`manage.py run_localtwilio`: the one-machine Twilio, on 127.0.0.1, keeping bought numbers."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from twilio.rest import Client

from callmeback.stand_ins import LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN
from tests.fakes.twilio import RebasedHttpClient

ROOT = Path(__file__).resolve().parents[2]


def _start(numbers_file: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_localtwilio", "--port", "0", "--numbers-file", str(numbers_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # blocks until the server has bound its socket
    match = re.search(r"listening on (http://\S+)", line)
    if match is None:
        process.kill()
        pytest.fail(f"run_localtwilio did not start: {line!r}")
    return process, match.group(1)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


def test_listens_on_loopback_serves_the_phone_page_and_keeps_bought_numbers(tmp_path):
    numbers_file = tmp_path / "numbers.json"
    process, url = _start(numbers_file)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert "Answer calls automatically" in requests.get(f"{url}/phone", timeout=5).text
        client = Client(LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, http_client=RebasedHttpClient(url))
        client.incoming_phone_numbers.create(phone_number="+12125550142")
    finally:
        _stop(process)

    process, url = _start(numbers_file)
    try:
        client = Client(LOCALTWILIO_ACCOUNT_SID, LOCALTWILIO_AUTH_TOKEN, http_client=RebasedHttpClient(url))
        owned = [number.phone_number for number in client.incoming_phone_numbers.list()]
        assert "+12125550142" in owned
    finally:
        _stop(process)
