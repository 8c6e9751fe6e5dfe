"""Concurrent live calls against one ASGI server process.

Starts the loopback providers in a subprocess (Deepgram: final transcript 150 ms after the
caller's speech ends; the LLM: first token after 200 ms; ElevenLabs: first audio after
150 ms), one uvicorn process serving the project as in production (with an event-loop lag
probe, see `bench/voice_server.py`), and plays N callers against it over real websockets
exactly as Twilio would, from a few caller processes of their own. The callers pick up over a
few seconds, as calls arrive on a busy server, not in one instant. Each hears the opening
line, takes turns, and interrupts the last reply. It prints, per N:

- voice-to-voice: from the last voiced frame the caller sent to the first reply frame back;
- overhead: the time our own code spent on the path from the recogniser's final words to the
  first audio frame, provider waits excluded, as the engine measures it per turn;
- barge-in: from the first voiced frame of the interruption to the `clear`;
- the server's event-loop lag (p99) and its CPU per call: % of one core while the call is
  live, and CPU seconds over the whole call (process CPU time, so other work on the machine
  does not count: the figure to compare between runs on a shared machine), and how much of
  those seconds the garbage collector took;
- how busy the whole machine was: the server, the provider fakes and the callers together,
  as a share of all its cores (they share them: past ~100 %, every figure is the machine's).

With `--hang-ups`, each N runs twice, Twilio answering every hang-up at once and then
after `--slow-twilio-seconds` (10): short calls beside the measured ones end by their time
limit every `--hang-up-every` seconds (their hang-ups go through a Celery worker, as in
production, to a loopback Twilio that takes that long), and it prints, for both side by
side, the opening line's latency (from `start` to its first audio) and the transcript's
write lag (from each turn heard to it stored, as the server's metrics lines report it). One
call's slow hang-up must move neither.

Needs PostgreSQL (DATABASE_URL); Redis (REDIS_URL) is used when set. Creates and drops a
test database.

    .venv/bin/python bench/voice.py [--calls 1,50,100,200,400] [--turns 3] [--caller-processes 2]
    .venv/bin/python bench/voice.py --calls 200 --hang-ups [--slow-twilio-seconds 10] [--hang-up-every 3]
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callmeback.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # a throwaway database, a throwaway key

import django  # noqa: E402

django.setup()

from bench.voice_hang_ups import (  # noqa: E402
    ENDING_CALL_LIFETIME_SECONDS,
    make_ending_calls,
    print_hang_up_table,
    set_twilio_delay,
    start_worker,
    transcript_lags,
)
from devtools.processes import database_url, free_port  # noqa: E402

STT_FINAL_DELAY = 0.15
LLM_FIRST_TOKEN_DELAY = 0.2
TTS_FIRST_AUDIO_DELAY = 0.15
INJECTED_SECONDS = STT_FINAL_DELAY + LLM_FIRST_TOKEN_DELAY + TTS_FIRST_AUDIO_DELAY
CALLER_LINE = "I am doing well thanks what have you been up to today"
INTERRUPTION = "Wait sorry hold on a second please"
LARGE = 400
AUTH_TOKEN = "bench-twilio-auth-token"
ACCOUNT_SID = "AC" + "be" * 16


# --- The providers, in their own process ----------------------------------------------------


def serve_fakes() -> None:
    """`bench/voice.py --serve-fakes`: run the three loopback providers and print their URLs."""
    from tests.fakes.deepgram import API_KEY as DEEPGRAM_KEY
    from tests.fakes.deepgram import FakeDeepgram
    from tests.fakes.elevenlabs import API_KEY as ELEVENLABS_KEY
    from tests.fakes.elevenlabs_tts import FakeElevenLabsTts
    from tests.fakes.openai_sse import API_KEY as LLM_KEY
    from tests.fakes.openai_sse import FakeOpenAi, Reply
    from tests.fakes.twilio_hang_ups import HangUpTwilio

    words = "Oh, that's lovely to hear. I spent the morning in the garden, and then I called you."
    reply = Reply(deltas=[f" {word}" if index else word for index, word in enumerate(words.split())])
    deepgram = FakeDeepgram(utterances=[CALLER_LINE] * 100_000, final_delay=STT_FINAL_DELAY).start()
    llm = FakeOpenAi(default_reply=reply, first_token_delay=LLM_FIRST_TOKEN_DELAY, token_delay=0.02).start()
    tts = FakeElevenLabsTts(first_audio_delay=TTS_FIRST_AUDIO_DELAY).start()
    twilio = HangUpTwilio().start()
    environment = {
        "TWILIO_API_BASE": twilio.url,
        "DEEPGRAM_API_KEY": DEEPGRAM_KEY,
        "DEEPGRAM_API_URL": deepgram.ws_url,
        "LLM_API_KEY": LLM_KEY,
        "LLM_BASE_URL": llm.base_url,
        "ELEVENLABS_API_KEY": ELEVENLABS_KEY,
        "ELEVENLABS_API_URL": tts.url,
    }
    print(json.dumps(environment), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


# --- The server ---------------------------------------------------------------------------


def server_environment(port: int, providers: dict[str, str], lag_file: str) -> dict[str, str]:
    """What the server (and in --hang-ups mode its Celery worker) runs with; the server's
    collector figures go beside the lag file."""
    return {
        **os.environ,
        **providers,
        "DATABASE_URL": database_url(),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "BENCH_LAG_FILE": lag_file,
        "BENCH_GC_FILE": gc_file(lag_file),
        "LOG_LEVEL": "INFO",  # the consumer's per-call metrics line
        "DEBUG": "0",  # as in production: no query log, no debug cursor
    }


def start_server(port: int, environment: dict[str, str], log_file) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "--no-access-log", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "bench.voice_server:application"], cwd=ROOT, env=environment, stdout=log_file, stderr=log_file
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("uvicorn did not start")


def gc_file(lag_file: str) -> str:
    return lag_file.replace(".txt", ".gc.txt")


def gc_seconds(lag_file: str, since: float, until: float) -> float | None:
    """CPU seconds the server's garbage collector took between two moments (unix time)."""
    try:
        lines = [line.split() for line in Path(gc_file(lag_file)).read_text().splitlines()]
    except FileNotFoundError:
        return None
    inside = [float(seconds) for at, _, seconds in lines if since <= float(at) <= until]
    before = [float(seconds) for at, _, seconds in lines if float(at) < since]
    return inside[-1] - (before[-1] if before else 0.0) if inside else None


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def engine_overheads(log_path: str, offset: int) -> list[float]:
    """Per-turn overhead the engine measured itself, from the server's "call metrics" lines."""
    overheads: list[float] = []
    with open(log_path) as log:
        log.seek(offset)
        for line in log:
            if "call metrics " in line:
                overheads += [ms / 1000 for ms in json.loads(line.split("call metrics ", 1)[1])["overhead_ms"]]
    return overheads


def lag_p99(lag_file: str, since: float, until: float) -> float | None:
    try:
        lines = Path(lag_file).read_text().splitlines()
    except FileNotFoundError:
        return None
    samples = sorted(float(lag) for at, lag in (line.split() for line in lines) if since <= float(at) <= until)
    return samples[int(len(samples) * 0.99) - 1] if samples else None


# --- The calls ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveCall:
    sid: str
    call_id: str
    persona_id: str
    ends_at: float | None = None  # a call that ends by its time limit, picked up this long into the phase


def make_calls(count: int) -> list[LiveCall]:
    """`count` in-progress calls with Twilio SIDs, one per bench account."""
    from accounts.models import User
    from calls.models import Call
    from personas.models import Persona
    from voice.services import call_simulation_build

    Call.objects.filter(status__in=Call.ACTIVE).update(status=Call.Status.COMPLETED)
    persona = Persona.objects.filter(owner__isnull=True).order_by("name").first()
    existing = User.objects.filter(email__startswith="bench").count()
    User.objects.bulk_create(
        [
            User(email=f"bench{n}@example.com", name=f"Caller {n}", phone=f"+1415{n:07d}", phone_verified=True)
            for n in range(existing, count)
        ]
    )
    users = list(User.objects.filter(email__startswith="bench").order_by("email")[:count])
    calls = Call.objects.bulk_create(
        [call_simulation_build(user=user, persona=persona, authorized_seconds=600) for user in users]
    )
    return [LiveCall(sid=call.sid, call_id=str(call.id), persona_id=str(call.persona_id)) for call in calls]


def voiced_only(mulaw: bytes) -> bytes:
    """The clip without its leading and trailing silence, so its last frame is speech."""
    from voice.audio import FRAME_BYTES, audioop

    frames = [mulaw[i : i + FRAME_BYTES] for i in range(0, len(mulaw), FRAME_BYTES)]
    voiced = [i for i, frame in enumerate(frames) if audioop.rms(audioop.ulaw2lin(frame, 2), 2) >= 400]
    return b"".join(frames[voiced[0] : voiced[-1] + 1])


@dataclass
class Figures:
    voice_to_voice: list[float] = field(default_factory=list)
    barge_in: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    opening: list[float] = field(default_factory=list)  # from `start` sent to the opening line's first audio
    open_spans: list[tuple[float, float]] = field(default_factory=list)  # each stream's (opened, closed), unix time

    def peak_concurrency(self) -> int:
        """The most streams open at one moment."""
        events = sorted(
            [(opened, 1) for opened, _ in self.open_spans] + [(closed, -1) for _, closed in self.open_spans]
        )
        open_now = peak = 0
        for _, change in events:
            open_now += change
            peak = max(peak, open_now)
        return peak


async def one_call(
    call: LiveCall, *, url: str, turns: int, speech: bytes, interruption: bytes, session, figures: Figures, delay: float
):
    from devtools.stream_client import TwilioMediaStream

    await asyncio.sleep(delay if call.ends_at is None else call.ends_at)
    stream = TwilioMediaStream.for_call(
        url=url,
        auth_token=AUTH_TOKEN,
        call_sid=call.sid,
        call_id=call.call_id,
        persona_id=call.persona_id,
        account_sid=ACCOUNT_SID,
    )
    opened = time.time()
    try:
        started = time.monotonic()
        await stream.open(session)
        stream.start_line()
        if call.ends_at is not None:  # a short call: it ends by its time limit, its hang-up at Twilio
            await asyncio.sleep(ENDING_CALL_LIFETIME_SECONDS)
            return
        if not await stream.listen(timeout=30, quiet=0.5):
            figures.failures.append("no opening line")
            return
        figures.opening.append(stream.received.media[0][0] - started)
        for turn in range(turns):
            said = stream.say(speech)
            await asyncio.wait_for(said.done.wait(), timeout=30)  # a stream the server closed never finishes it
            if not await stream.wait_until(
                lambda said=said: stream.received.first_media_after(said.ended_at), timeout=15
            ):
                figures.failures.append("no reply")
                return
            figures.voice_to_voice.append(stream.received.first_media_after(said.ended_at) - said.ended_at)
            if turn < turns - 1:
                await stream.listen(timeout=30, quiet=0.5)
                continue
            await asyncio.sleep(0.4)  # the reply is playing: interrupt it
            cut = stream.say(interruption)
            if not await stream.wait_until(
                lambda cut=cut: cut.started_at and stream.received.first_clear_after(cut.started_at), timeout=10
            ):
                figures.failures.append("no clear")
                return
            figures.barge_in.append(stream.received.first_clear_after(cut.started_at) - cut.started_at)
    except Exception as error:  # a failed call is counted, not fatal to the phase
        figures.failures.append(type(error).__name__)
    finally:
        await stream.stop()
        figures.open_spans.append((opened, time.time()))


async def play_calls(calls: list[LiveCall], *, ramp: float, **call_options) -> Figures:
    import aiohttp

    figures = Figures()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(
            *(
                one_call(call, session=session, figures=figures, delay=random.uniform(0, ramp), **call_options)
                for call in calls
            )
        )
    return figures


def caller_process(calls: list[LiveCall], options: dict) -> tuple[dict, float]:
    """One caller process's share of the calls: their figures and the CPU it spent."""
    cpu_before = time.process_time()
    figures = asyncio.run(play_calls(calls, **options))
    return asdict(figures), time.process_time() - cpu_before


def run_phase(calls: list[LiveCall], *, processes: int, **options) -> tuple[Figures, float]:
    """All calls at once, spread over caller processes: their figures and CPU seconds."""
    shares = [calls[index::processes] for index in range(processes) if calls[index::processes]]
    figures, cpu = Figures(), 0.0
    with ProcessPoolExecutor(len(shares), mp_context=multiprocessing.get_context("fork")) as pool:
        for share_figures, share_cpu in pool.map(caller_process, shares, [options] * len(shares)):
            for name, values in share_figures.items():
                getattr(figures, name).extend(values)
            cpu += share_cpu
    return figures, cpu


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def ms(value: float | None, decimals: int = 0) -> str:
    return "-" if value is None else f"{value * 1000:.{decimals}f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", default="1,50,100,200,400")
    parser.add_argument("--turns", type=int, default=3, help="Caller turns per call (the last one interrupted).")
    parser.add_argument("--caller-processes", type=int, default=2, help="Processes playing the callers.")
    parser.add_argument("--ramp", type=float, default=5.0, help="Seconds over which the calls are picked up.")
    parser.add_argument(
        "--hang-ups", action="store_true", help="Each N twice, calls ending beside it: Twilio fast, then slow."
    )
    parser.add_argument("--slow-twilio-seconds", type=float, default=10.0, help="How long a slow Twilio takes.")
    parser.add_argument("--hang-up-every", type=float, default=3.0, help="Seconds between two calls' ends.")
    parser.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fakes:
        serve_fakes()
        return

    from django.db import connection

    from tests.fakes.twilio_media import speech as spoken

    if connection.vendor != "postgresql":
        sys.exit("bench/voice.py needs PostgreSQL: set DATABASE_URL.")
    # A database of its own, so the benchmark never meets the test suite's test_<name>.
    connection.settings_dict["TEST"]["NAME"] = f"bench_voice_{connection.settings_dict['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    fakes = subprocess.Popen([sys.executable, __file__, "--serve-fakes"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    providers = json.loads(fakes.stdout.readline())
    handle, lag_file = tempfile.mkstemp(prefix="voice-lag-", suffix=".txt")
    os.close(handle)
    port = free_port()
    log_path = lag_file.replace(".txt", ".log")
    log_file = open(log_path, "w")  # noqa: SIM115 (the server writes it until the end)
    environment = server_environment(port, providers, lag_file)
    server = start_server(port, environment, log_file)
    worker = start_worker(environment, log_file) if args.hang_ups else None
    url = f"ws://127.0.0.1:{port}/api/voice/stream"
    speech, interruption = voiced_only(spoken(CALLER_LINE)), voiced_only(spoken(INTERRUPTION))
    # --hang-ups: each N with a fast Twilio, then a slow one; calls end over the phase's first this many seconds.
    twilio_delays = (0.0, args.slow_twilio_seconds) if args.hang_ups else (None,)
    ending_over = args.ramp + 20
    rows, hang_up_rows = [], []
    try:
        if args.hang_ups:  # a first phase warms the server up, so neither measured one pays for it
            run_phase(make_calls(2), processes=1, ramp=0, url=url, turns=1, speech=speech, interruption=interruption)
        for count, twilio_delay in ((int(n), delay) for n in args.calls.split(",") for delay in twilio_delays):
            calls = make_calls(count + (int(ending_over / args.hang_up_every) if args.hang_ups else 0))
            if twilio_delay is not None:
                hang_ups_before = set_twilio_delay(providers["TWILIO_API_BASE"], twilio_delay)
                calls = calls[:count] + make_ending_calls(calls[count:], every=args.hang_up_every, over=ending_over)
            connection.close()
            log_offset = Path(log_path).stat().st_size
            began = time.time()
            server_before, fakes_before = cpu_seconds(server.pid), cpu_seconds(fakes.pid)
            turns = args.turns if count < LARGE else 1  # the largest run takes one (interrupted) turn per call
            figures, callers_cpu = run_phase(
                calls,
                processes=args.caller_processes,
                ramp=args.ramp,
                url=url,
                turns=turns,
                speech=speech,
                interruption=interruption,
            )
            ended = time.time()
            if twilio_delay is not None:
                time.sleep(0.5)  # the last calls' metrics lines
                hang_ups = set_twilio_delay(providers["TWILIO_API_BASE"], twilio_delay) - hang_ups_before
                lags = transcript_lags(log_path, log_offset)
                hang_up_rows.append((count, twilio_delay, hang_ups, figures.opening, lags))
            server_cpu = cpu_seconds(server.pid) - server_before
            machine_cpu = server_cpu + cpu_seconds(fakes.pid) - fakes_before + callers_cpu
            time.sleep(0.5)  # the last calls' metrics lines
            overhead = engine_overheads(log_path, log_offset)
            call_seconds = sum(closed - opened for opened, closed in figures.open_spans)
            cpu_per_call = server_cpu / call_seconds * 100  # a core's share per live call
            machine_load = machine_cpu / (ended - began) / os.cpu_count() * 100
            lag = lag_p99(lag_file, began, ended)
            collector = gc_seconds(lag_file, began, ended)
            gc_per_call = None if collector is None else collector / count
            rows.append((count, overhead, figures, lag, cpu_per_call, server_cpu / count, gc_per_call, machine_load))
            failures = ", ".join(f"{reason}: {n}" for reason, n in Counter(figures.failures).items())
            twilio = "" if twilio_delay is None else f" (Twilio hangs up in {twilio_delay:g} s)"
            print(f"N={count}{twilio}: done in {ended - began:.0f} s, failed calls: {failures or 'none'}", flush=True)
    finally:
        processes = [process for process in (server, worker, fakes) if process is not None]
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()  # hundreds of open sockets can outlast a polite stop
                process.wait()
        log_file.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(
        f"\nInjected provider latencies: STT final {STT_FINAL_DELAY * 1000:.0f} ms, LLM first token "
        f"{LLM_FIRST_TOKEN_DELAY * 1000:.0f} ms, TTS first audio {TTS_FIRST_AUDIO_DELAY * 1000:.0f} ms; "
        f"{args.turns} caller turns per call ({LARGE}+ calls: 1), the last one interrupted; calls picked up "
        f"over {args.ramp:g} s by {args.caller_processes} caller processes; {os.cpu_count()} cores. Times in ms."
    )
    header = (
        "calls",
        "peak open",
        "overhead p50",
        "p95",
        "voice-to-voice p50",
        "p95",
        "barge-in p50",
        "p95",
        "loop lag p99",
        "server CPU/call %",
        "server CPU s/call",
        "of it GC",
        "machine busy %",
        "failed",
    )
    print(" | ".join(header))
    for count, overhead, figures, lag, cpu, cpu_seconds_per_call, gc_per_call, machine_load in rows:
        print(
            " | ".join(
                [
                    str(count),
                    str(figures.peak_concurrency()),
                    ms(percentile(overhead, 0.5), 1),
                    ms(percentile(overhead, 0.95), 1),
                    ms(percentile(figures.voice_to_voice, 0.5)),
                    ms(percentile(figures.voice_to_voice, 0.95)),
                    ms(percentile(figures.barge_in, 0.5)),
                    ms(percentile(figures.barge_in, 0.95)),
                    "-" if lag is None else f"{lag:.1f}",
                    f"{cpu:.2f}",
                    f"{cpu_seconds_per_call:.3f}",
                    "-" if gc_per_call is None else f"{gc_per_call:.3f}",
                    f"{machine_load:.0f}",
                    str(len(figures.failures)),
                ]
            )
        )
    if hang_up_rows:
        print_hang_up_table(hang_up_rows, every=args.hang_up_every)


if __name__ == "__main__":
    main()
