"""Paces booked calls' dials to Twilio's calls-per-second limit (`TWILIO_CALLS_PER_SECOND`).

Twilio queues calls created faster than an account's CPS (1 by default), so a burst sent at
once rings late with nothing here knowing, and a claim would go stale while it waits.
Every dispatch worker reserves slots on one shared timeline, spaced 1/CPS apart: in Redis
when `REDIS_URL` is set (one atomic script, Redis's own clock, so many machines agree),
else in this process (one machine, one dispatch worker). The sweeper claims no more
bookings than there are free slots within `DISPATCH_PACING_HORIZON`, so the rest wait
unclaimed in time order instead of holding stale claims."""

import threading
import time
import uuid
from collections.abc import Iterator
from functools import cache

import redis
from django.conf import settings

_KEY = "cmb:twilio-dial-timeline"

# KEYS[1]: the next free slot (microseconds, Redis clock). ARGV: spacing, count, horizon (µs).
# count 0 only reports how many slots are free before now + horizon.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local spacing, count, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
if count == 0 then
  return math.max(0, math.floor((now + horizon - first) / spacing))
end
local after = first + spacing * count
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.ceil((after - now) / 1000) + 1000)
return first - now
"""

_local_lock = threading.Lock()
_local_next_free = 0.0


@cache
def _script():
    return redis.Redis.from_url(settings.REDIS_URL).register_script(_RESERVE)


def _spacing_us() -> int:
    return max(1, int(1_000_000 / settings.TWILIO_CALLS_PER_SECOND))


def _horizon_us() -> int:
    return int(settings.DISPATCH_PACING_HORIZON.total_seconds() * 1_000_000)


def dial_capacity() -> int:
    """How many dials fit before now + the horizon, after those already reserved."""
    if settings.REDIS_URL:
        return int(_script()(keys=[_KEY], args=[_spacing_us(), 0, _horizon_us()]))
    with _local_lock:
        now = time.monotonic() * 1_000_000
        return max(0, int((now + _horizon_us() - max(now, _local_next_free)) // _spacing_us()))


def dial_delays_reserve(count: int) -> list[float]:
    """Reserves `count` consecutive slots; returns each dial's delay from now, in seconds."""
    global _local_next_free
    if count <= 0:
        return []
    spacing = _spacing_us()
    if settings.REDIS_URL:
        first = int(_script()(keys=[_KEY], args=[spacing, count, _horizon_us()]))
    else:
        with _local_lock:
            now = time.monotonic() * 1_000_000
            start = max(now, _local_next_free)
            _local_next_free = start + spacing * count
            first = int(start - now)
    return [(first + spacing * n) / 1_000_000 for n in range(count)]


def dial_batches(ids: list[uuid.UUID], delays: list[float], *, largest: int) -> Iterator[tuple[list[uuid.UUID], float]]:
    """Groups bookings to place into tasks of up to `largest`, each no more than one second
    of the limit allows, starting at its first booking's slot: one task per booking would
    cost more to queue and run than placing the call does."""
    size = max(1, min(largest, int(settings.TWILIO_CALLS_PER_SECOND)))
    for start in range(0, len(ids), size):
        yield ids[start : start + size], delays[start]
