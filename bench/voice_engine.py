"""What the conversation engine itself costs: per inbound frame, and per turn.

Runs the real engine (voice/engine/ with its webrtcvad VAD) against the
zero-latency scripted providers and fake phone line of the engine's tests, so every
microsecond measured is ours:

- receive_audio per 20 ms frame, in CPU time (decode, VAD, barge-in step, queue to the recogniser),
  while the persona is quiet and while it talks, speech and silence mixed;
- reading the frame out of Twilio's `media` message before that: the consumer's shortcut
  against a full JSON parse and base64 decode;
- our own overhead per turn (end of turn -> LLM request, first clause -> TTS,
  first audio -> sent to the caller; provider waits excluded), as the engine measures it;
- what that means for one process: the share of one core the inbound audio of N calls takes.

    .venv/bin/python bench/voice_engine.py [frames] [turns]
"""

import asyncio
import base64
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.voice.scripted import SILENCE, VOICED, PhoneCall, ScriptedLlm, reply
from voice.providers.base import TranscriptUpdate
from voice.streams import media_message_audio


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def caller_audio(count: int, *, persona_talking: bool) -> list[bytes]:
    """Persona quiet: the caller talks half a second, pauses half a second, and so on.
    Persona talking: the caller listens, with a short sound (80 ms, under the pause threshold) every second."""
    if persona_talking:
        return [VOICED[index % len(VOICED)] if index % 50 < 4 else SILENCE for index in range(count)]
    return [VOICED[index % len(VOICED)] if (index // 25) % 2 == 0 else SILENCE for index in range(count)]


async def frame_costs(frames: int, *, persona_talking: bool) -> list[float]:
    """CPU microseconds per receive_audio call (thread CPU time: other processes on the machine don't count)."""
    long_line = "Once upon a time there was a baker who made the best bread in the whole wide world. " * 40
    call = PhoneCall(opening_line=long_line, opening_audio=None) if persona_talking else PhoneCall()
    await call.start()
    if not persona_talking:
        await call.until(lambda: call.line.turns)
    receive = call.conversation.receive_audio
    costs = []
    for frame in caller_audio(frames, persona_talking=persona_talking):
        started = time.thread_time_ns()
        receive(frame)
        costs.append((time.thread_time_ns() - started) / 1000)
        await call.clock.advance(0.02)  # 20 ms later; the audio drains to the recogniser meanwhile
    assert call.line.count("clear") == 0
    await call.conversation.stop()
    return costs


def media_read_costs(frames: int) -> dict[str, list[float]]:
    """CPU microseconds to get the audio out of one `media` message as Twilio sends it."""
    messages = [
        f'{{"event":"media","sequenceNumber":"{index + 3}","media":{{"track":"inbound","chunk":"{index + 1}",'
        f'"timestamp":"{index * 20}","payload":"{base64.b64encode(frame).decode()}"}},'
        f'"streamSid":"MZ0123456789abcdef0123456789abcdef"}}'
        for index, frame in enumerate(caller_audio(frames, persona_talking=False))
    ]
    readers = {
        "full JSON parse + base64": lambda text: base64.b64decode(json.loads(text)["media"]["payload"], validate=True),
        "Twilio layout shortcut": media_message_audio,
    }
    costs: dict[str, list[float]] = {}
    for label, read in readers.items():
        costs[label] = []
        for text in messages:
            started = time.thread_time_ns()
            read(text)
            costs[label].append((time.thread_time_ns() - started) / 1000)
    return costs


async def turn_overheads(turns: int) -> list[float]:
    """Milliseconds of our own time on the path to each reply's first audio."""
    llm = ScriptedLlm(*[reply("Oh, that is lovely, dear. Tell me more about it, will you?") for _ in range(turns)])
    call = PhoneCall(llm=llm, authorized_seconds=100_000)  # no time-limit goodbye in the middle
    await call.start()
    await call.until(lambda: call.line.turns)
    for _ in range(turns):
        heard = len(call.line.turns)
        await call.voice(15)
        await call.silence(0.2)
        await call.hear(TranscriptUpdate("I went to the market today.", is_final=True, end_of_turn=True))
        await call.until(lambda heard=heard: len(call.line.turns) >= heard + 2)
    await call.conversation.stop()
    return [turn.overhead_ms for turn in call.conversation.metrics.turns]


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    turns = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    print(f"voice engine: {frames} frames per case, {turns} turns, zero-latency scripted providers\n")
    print(f"{'receive_audio CPU per 20 ms frame':<40}{'p50 µs':>10}{'p95 µs':>10}{'p99 µs':>10}{'mean µs':>10}")
    worst_mean = 0.0
    for label, talking in (("persona quiet", False), ("persona talking (barge-in armed)", True)):
        costs = asyncio.run(frame_costs(frames, persona_talking=talking))
        worst_mean = max(worst_mean, statistics.fmean(costs))
        print(
            f"  {label:<38}{percentile(costs, 0.5):>10.1f}{percentile(costs, 0.95):>10.1f}"
            f"{percentile(costs, 0.99):>10.1f}{statistics.fmean(costs):>10.1f}"
        )
    print(f"\n{'media message -> frame, CPU':<40}{'p50 µs':>10}{'p95 µs':>10}{'p99 µs':>10}{'mean µs':>10}")
    for label, costs in media_read_costs(frames).items():
        print(
            f"  {label:<38}{percentile(costs, 0.5):>10.1f}{percentile(costs, 0.95):>10.1f}"
            f"{percentile(costs, 0.99):>10.1f}{statistics.fmean(costs):>10.1f}"
        )
    overheads = asyncio.run(turn_overheads(turns))
    print(f"\n{'our overhead per turn':<40}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    print(
        f"  {'end of turn -> first audio sent':<38}{statistics.median(overheads):>10.3f}"
        f"{percentile(overheads, 0.95):>10.3f}{max(overheads):>10.3f}"
    )
    print("\ninbound audio for N calls in one process (50 frames/s each, at the mean frame cost):")
    for calls in (1, 50, 100, 200, 400):
        share = calls * 50 * worst_mean / 1_000_000
        print(f"  N = {calls:>3}: {share * 100:5.1f}% of one core")


if __name__ == "__main__":
    main()
