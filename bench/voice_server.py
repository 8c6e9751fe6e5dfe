"""The project's ASGI application plus an event-loop lag probe, for `bench/voice.py`.

    uvicorn bench.voice_server:application     (with BENCH_LAG_FILE set)

Every 20 ms a task asks to wake up; how late it actually wakes is the loop's lag, which
is what every call in the process waits on. Samples go to BENCH_LAG_FILE once a second as
"<unix time> <lag ms>" lines, so the benchmark can read the figures of each phase.
"""

import asyncio
import os
import time

from callmeback.asgi import application as project_application

PROBE_SECONDS = 0.02
_probe: asyncio.Task | None = None


async def _probe_lag(path: str) -> None:
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
            samples.clear()
            flushed = woke


async def application(scope, receive, send):
    global _probe
    if _probe is None:
        _probe = asyncio.get_running_loop().create_task(_probe_lag(os.environ["BENCH_LAG_FILE"]))
    await project_application(scope, receive, send)
