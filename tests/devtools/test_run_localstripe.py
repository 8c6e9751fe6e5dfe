"""`manage.py run_localstripe`: the one-machine Stripe, on 127.0.0.1, with its data in a file."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import stripe

ROOT = Path(__file__).resolve().parents[2]


def _start(data_file: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_localstripe", "--port", "0", "--data-file", str(data_file), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # blocks until the server has bound its socket
    match = re.search(r"listening on (http://\S+)", line)
    if match is None:
        process.kill()
        pytest.fail(f"run_localstripe did not start: {line!r}")
    return process, match.group(1)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


def test_listens_on_loopback_only_and_keeps_data_between_runs(tmp_path):
    data_file = tmp_path / "localstripe.pickle"
    process, url = _start(data_file)
    try:
        assert url.startswith("http://127.0.0.1:")
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
        customer_id = client.v1.customers.create(params={"email": "a@example.com"}).id
    finally:
        _stop(process)
    assert data_file.exists()

    process, url = _start(data_file)
    try:
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
        assert client.v1.customers.retrieve(customer_id).email == "a@example.com"
    finally:
        _stop(process)

    process, url = _start(data_file, "--from-scratch")
    try:
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.retrieve(customer_id)
    finally:
        _stop(process)
