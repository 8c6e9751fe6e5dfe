"""Database work of async code that must not queue behind anyone else's.

Channels' `database_sync_to_async` runs every call on one thread shared by the whole process
(asgiref's thread-sensitive mode): one slow query or outside request there stalls every live
call's transcript writes and every new call's start. `off_shared_thread` runs a function on
a bounded pool of threads of its own instead, with the same care for connections (old or
broken ones closed before and after; with the pool configured, closing hands the connection
back to it).
"""

import functools
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings

P = ParamSpec("P")
R = TypeVar("R")


class DatabaseThreads(ThreadPoolExecutor):
    """A thread pool that knows whether work is still queued or running on it (a test server
    waits for that before flushing the database under it)."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="database")
        self._pending: set[Future] = set()
        self._pending_lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = super().submit(fn, *args, **kwargs)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    def idle(self) -> bool:
        with self._pending_lock:
            return not self._pending


@functools.cache
def database_threads() -> DatabaseThreads:
    """The process's threads for live calls' database work (`DATABASE_THREADS` of them)."""
    return DatabaseThreads(settings.DATABASE_THREADS)


def off_shared_thread(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`func` made awaitable, run on the database threads rather than the shared one."""
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=database_threads())
