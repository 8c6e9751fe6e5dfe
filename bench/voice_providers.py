"""What the provider adapters cost one process carrying many live calls.

Starts the loopback Deepgram, OpenAI-compatible and ElevenLabs servers in a separate
process (so they do not share this one's CPU or GIL), then for N concurrent calls:
- speech to text: N Deepgram streams each sending 20 ms mu-law frames in real time for a
  few seconds (a spoken stretch, then silence) and reading the events back: CPU time of
  this process per frame, and the event loop's lag (p99) while they run;
- language model: N replies requested at the same instant (a worst case: live calls' turns
  are spread out) with a 200 ms first token: time to the first delta beyond those 200 ms
  (p50, p95), and this process's CPU time per reply;
- text to speech: N ElevenLabs sessions opened and speaking a turn at the same instant with
  a 150 ms first audio: time to the first audio chunk beyond those 150 ms (p50, p95).
Figures depend on what else the machine is doing: compare runs made on a quiet machine.

    .venv/bin/python bench/voice_providers.py [N ...]      (default: 50 200 400)
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LLM_FIRST_TOKEN = 0.2
TTS_FIRST_AUDIO = 0.15
STT_FINAL = 0.15
SPEECH_SECONDS, SILENCE_SECONDS = 1.5, 1.0
FRAME = 160  # 20 ms of 8 kHz mu-law


def serve_fakes() -> None:
    from tests.fakes.deepgram import FakeDeepgram
    from tests.fakes.elevenlabs_tts import FakeElevenLabsTts
    from tests.fakes.openai_sse import FakeOpenAi, Reply

    deepgram = FakeDeepgram(utterances=["I'm fine, thanks for asking."] * 100_000, final_delay=STT_FINAL).start()
    reply = Reply(deltas=["Lovely", " to", " hear", " it."])
    llm = FakeOpenAi(default_reply=reply, first_token_delay=LLM_FIRST_TOKEN, token_delay=0.02).start()
    tts = FakeElevenLabsTts(first_audio_delay=TTS_FIRST_AUDIO).start()
    print(json.dumps({"deepgram": deepgram.ws_url, "llm": llm.base_url, "tts": tts.url}), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class LoopLag:
    """Samples how late a 10 ms timer fires: the event loop's responsiveness."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.samples.append(time.perf_counter() - start - 0.01)

    def stop(self) -> float:
        self._task.cancel()
        return percentile(self.samples, 0.99) * 1000


async def stt_phase(urls: dict, calls: int) -> tuple[float, float, int]:
    from devtools.stream_client import silence
    from tests.fakes.deepgram import API_KEY, speech
    from voice.providers.base import TranscriptUpdate
    from voice.providers.deepgram import DeepgramStt

    stt = DeepgramStt(api_key=API_KEY, api_url=urls["deepgram"])
    audio = speech(SPEECH_SECONDS) + silence(SILENCE_SECONDS)
    frames = [audio[offset : offset + FRAME] for offset in range(0, len(audio), FRAME)]
    finals = 0

    async def call() -> None:
        nonlocal finals
        stream = await stt.open_stream()

        async def read() -> None:
            nonlocal finals
            async for event in stream.events():
                if isinstance(event, TranscriptUpdate) and event.end_of_turn:
                    finals += 1

        reader = asyncio.ensure_future(read())
        start = time.perf_counter()
        for index, frame in enumerate(frames):
            await stream.send_audio(frame)
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - time.perf_counter()))
        await stream.close()
        await reader

    lag = LoopLag()
    cpu = time.process_time()
    await asyncio.gather(*(call() for _ in range(calls)))
    cpu_per_frame = (time.process_time() - cpu) / (calls * len(frames))
    await stt.aclose()
    return cpu_per_frame * 1e6, lag.stop(), finals


async def llm_phase(urls: dict, calls: int) -> tuple[list[float], float]:
    from tests.fakes.openai_sse import API_KEY
    from voice.providers.base import ChatMessage
    from voice.providers.openai_llm import OpenAiLlm

    llm = OpenAiLlm(base_url=urls["llm"], api_key=API_KEY, max_retries=0)
    messages = [ChatMessage("system", "You are Ada."), ChatMessage("user", "How are you?")]

    async def call() -> float:
        start = time.perf_counter()
        async for _ in llm.stream_reply(messages=messages, model="bench", temperature=0.7):
            first = time.perf_counter() - start
            break
        return first - LLM_FIRST_TOKEN

    cpu = time.process_time()
    overheads = await asyncio.gather(*(call() for _ in range(calls)))
    cpu_per_reply = (time.process_time() - cpu) / calls
    await llm.aclose()
    return list(overheads), cpu_per_reply


async def tts_phase(urls: dict, calls: int) -> list[float]:
    from tests.fakes.elevenlabs import API_KEY
    from voice.providers.base import VoiceSettings
    from voice.providers.elevenlabs import ElevenLabsTts

    tts = ElevenLabsTts(api_key=API_KEY, api_url=urls["tts"], model="eleven_flash_v2_5")
    voice = VoiceSettings(voice_id="bench-voice", stability=0.5, similarity=0.75, speed=1.0)

    async def call() -> float:
        session = await tts.open_session(voice)
        start = time.perf_counter()
        await session.send_text("turn-1", "Lovely to hear it. ", flush=True)
        async for _ in session.audio():
            first = time.perf_counter() - start
            break
        await session.close()
        return first - TTS_FIRST_AUDIO

    overheads = await asyncio.gather(*(call() for _ in range(calls)))
    await tts.aclose()
    return list(overheads)


async def measure(urls: dict, calls: int) -> str:
    cpu_per_frame_us, lag_p99_ms, finals = await stt_phase(urls, calls)
    llm, llm_cpu = await llm_phase(urls, calls)
    tts = await tts_phase(urls, calls)
    ms = 1000
    return (
        f"{calls:>5} | {cpu_per_frame_us:>10.1f} {cpu_per_frame_us / 200:>8.2f}% {lag_p99_ms:>9.1f} {finals:>6}"
        f" | {statistics.median(llm) * ms:>6.1f} {percentile(llm, 0.95) * ms:>6.1f} {llm_cpu * ms:>6.1f}"
        f" | {statistics.median(tts) * ms:>6.1f} {percentile(tts, 0.95) * ms:>6.1f}"
    )


def main() -> None:
    if "--serve-fakes" in sys.argv:
        serve_fakes()
        return
    sizes = [int(arg) for arg in sys.argv[1:]] or [50, 200, 400]
    fakes = subprocess.Popen([sys.executable, __file__, "--serve-fakes"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        urls = json.loads(fakes.stdout.readline())
        asyncio.run(llm_phase(urls, 1))  # the SDK's first request pays for lazy imports and model setup
        print("Adapter costs with loopback providers in another process (times in ms unless stated)")
        print("      |            speech to text              |   LLM first token    | TTS first audio")
        print("calls | CPU/frame µs  CPU/call loop p99  finals | p50 +  p95 +  CPU   | p50 +  p95 +")
        for calls in sizes:
            print(asyncio.run(measure(urls, calls)), flush=True)
    finally:
        fakes.terminate()
        fakes.wait()


if __name__ == "__main__":
    main()
