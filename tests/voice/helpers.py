"""Small async helpers for provider tests, which run their scenario with `asyncio.run`."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any


async def collect(events: AsyncIterator[Any], *, until: Callable[[Any], bool], timeout: float = 5) -> list[Any]:
    """Reads events until one satisfies `until` (bounded by `timeout`) and returns them all."""
    seen: list[Any] = []

    async def read() -> None:
        async for event in events:
            seen.append(event)
            if until(event):
                return

    await asyncio.wait_for(read(), timeout)
    return seen


async def eventually(condition: Callable[[], bool], *, timeout: float = 5) -> None:
    """Polls a condition that another thread or task makes true, failing after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
