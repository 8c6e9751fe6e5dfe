"""Races between requests in one test: each contender in its own thread with its own database
connection, all released at once, so row locks (not the test's ordering) decide who wins."""

import threading
from collections.abc import Callable

from django.db import connections


def run_together(*contenders: Callable[[], object], timeout: float | None = None) -> None:
    """Runs the contenders in threads released together by a barrier and waits for them
    (each `timeout` seconds at most); re-raises the first error a contender let escape, so
    a thread failing cannot pass unnoticed."""
    start = threading.Barrier(len(contenders))
    errors: list[BaseException] = []

    def contend(contender: Callable[[], object]) -> None:
        try:
            start.wait()
            contender()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=contend, args=(contender,)) for contender in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
