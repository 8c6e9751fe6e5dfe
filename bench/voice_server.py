"""The project's ASGI application plus an event-loop lag probe and a garbage-collector
meter, for `bench/voice.py`.

    uvicorn bench.voice_server:application     (with BENCH_LAG_FILE and BENCH_GC_FILE set)

Every 20 ms a task asks to wake up; how late it actually wakes is the loop's lag, which
is what every call in the process waits on. Samples go to BENCH_LAG_FILE once a second as
"<unix time> <lag ms>" lines, so the benchmark can read the figures of each phase.
The collector's passes stop the loop too: the CPU time spent in them so far goes to
BENCH_GC_FILE with each flush, as "<unix time> <collections> <CPU seconds>".
"""

import asyncio
import gc
import os
import time

from callmeback.asgi import application as project_application

PROBE_SECONDS = 0.02
_probe: asyncio.Task | None = None


class GcMeter:
    """Counts the collector's passes and the CPU time they take (the loop's thread is stopped meanwhile)."""

    def __init__(self) -> None:
        self.collections = 0
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.collections += 1
            self.seconds += time.thread_time() - self._started


async def _probe_lag(path: str, gc_path: str) -> None:
    meter = GcMeter()
    samples: list[str] = []
    flushed = time.monotonic()
    while True:
        asked = time.monotonic()
        await asyncio.sleep(PROBE_SECONDS)
        woke = time.monotonic()
        samples.append(f"{time.time():.3f} {(woke - asked - PROBE_SECONDS) * 1000:.3f}\n")
        if woke - flushed >= 1.0:
            with open(path, "a") as lag_file:
                lag_file.writelines(samples)
            with open(gc_path, "a") as gc_file:
                gc_file.write(f"{time.time():.3f} {meter.collections} {meter.seconds:.6f}\n")
            samples.clear()
            flushed = woke


async def application(scope, receive, send):
    global _probe
    if _probe is None:
        _probe = asyncio.get_running_loop().create_task(
            _probe_lag(os.environ["BENCH_LAG_FILE"], os.environ["BENCH_GC_FILE"])
        )
    await project_application(scope, receive, send)
