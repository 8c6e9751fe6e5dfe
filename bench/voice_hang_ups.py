"""`bench/voice.py --hang-ups`: calls that end while the measured ones are live, their
hang-ups going through a Celery worker to a loopback Twilio that answers fast or slowly
(`tests/fakes/twilio_hang_ups.py`), and what the measured calls saw meanwhile: the opening
line's latency and the transcript's write lag (heard to stored), Twilio fast and slow side by side."""

import dataclasses
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENDING_CALL_SECONDS = 8  # the time limit of the calls that end during a --hang-ups phase
# How long such a call's caller stays on: past its goodbye (said from 3/4 of its time limit),
# so the persona's hang-up comes while the stream is live, as on a real call.
ENDING_CALL_LIFETIME_SECONDS = 20


def start_worker(environment: dict[str, str], log_file) -> subprocess.Popen:
    """The Celery worker the live calls' hang-ups go through, as `scripts/run` starts it."""
    command = [sys.executable, "-m", "celery", "-A", "callmeback", "--quiet", "worker", "--loglevel", "WARNING"]
    return subprocess.Popen(
        [*command, "--concurrency", "2"], cwd=ROOT, env=environment, stdout=log_file, stderr=log_file
    )


def set_twilio_delay(twilio_url: str, seconds: float) -> int:
    """How long the loopback Twilio (in the fakes' process) takes to answer each hang-up;
    returns how many hang-ups it has had so far."""
    request = urllib.request.Request(
        f"{twilio_url}/delay", data=json.dumps({"seconds": seconds}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["hang_ups"]


def make_ending_calls(calls: list, *, every: float, over: float) -> list:
    """The last of `calls` become short ones, picked up one every `every` seconds over `over`
    seconds: each ends by its time limit a few seconds later, and its hang-up goes to Twilio."""
    from calls.models import Call

    count = int(over / every)
    ending = calls[len(calls) - count :]
    Call.objects.filter(pk__in=[call.call_id for call in ending]).update(authorized_seconds=ENDING_CALL_SECONDS)
    return [dataclasses.replace(call, ends_at=index * every) for index, call in enumerate(ending)]


def transcript_lags(log_path: str, offset: int) -> list[float]:
    """How long each turn waited from being heard to being written, as the server's "call
    metrics" lines report it, from `offset` in its log on."""
    lags: list[float] = []
    with open(log_path) as log:
        log.seek(offset)
        for line in log:
            if "call metrics " in line:
                lags += [ms / 1000 for ms in json.loads(line.split("call metrics ", 1)[1]).get("transcript_lag_ms", [])]
    return lags


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def print_hang_up_table(rows: list[tuple[int, float, int, list[float], list[float]]], *, every: float) -> None:
    """--hang-ups: the opening line and the transcript's write lag, Twilio fast and slow side by side."""
    print(
        f"\nCalls ending by their time limit beside the measured ones, one every {every:g} s; their hang-ups "
        "go through a Celery worker to a loopback Twilio. Opening: `start` to the opening line's first audio. "
        "Transcript lag: from a turn heard to it stored. Times in ms."
    )
    by_count: dict[int, dict[float, tuple[int, list[float], list[float]]]] = {}
    for count, delay, hang_ups, opening, lags in rows:
        by_count.setdefault(count, {})[delay] = (hang_ups, opening, lags)
    delays = sorted({delay for _, delay, _, _, _ in rows})
    header = ["calls"]
    for delay in delays:
        twilio = f"Twilio {delay:g} s"
        header += [f"hang-ups ({twilio})", "opening p50", "p95", "transcript lag p50", "p95"]
    print(" | ".join(header))
    for count, phases in by_count.items():
        cells = [str(count)]
        for delay in delays:
            hang_ups, opening, lags = phases.get(delay, (0, [], []))
            cells += [str(hang_ups), _ms(_percentile(opening, 0.5)), _ms(_percentile(opening, 0.95))]
            cells += [_ms(_percentile(lags, 0.5)), _ms(_percentile(lags, 0.95))]
        print(" | ".join(cells))
