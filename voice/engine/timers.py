"""The call's deadlines, all slept on by one task: the silence prompt and the silence goodbye,
the time-limit goodbye, a goodbye's safety deadline, and the recogniser's KeepAlive.

The timers decide when; what happens then is the conversation's (`TimerEvents`). A deadline
that moves earlier wakes the task, which sleeps again until the nearest one.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Protocol

from voice.engine.call import Clock
from voice.engine.config import ConversationConfig


class SilenceStep(enum.Enum):
    """What the caller's silence leads to next."""

    PROMPT = "prompt"  # a gentle "are you there?"
    GOODBYE = "goodbye"  # a polite goodbye, and the call ends


class TimerEvents(Protocol):
    """What the timers ask of the conversation and tell it."""

    @property
    def ended(self) -> bool: ...

    def idle(self) -> bool:
        """Nobody has the floor and nothing is pending: silence counts."""
        ...

    def persona_has_turn(self) -> bool: ...

    async def goodbye_overdue(self, reason: str) -> None:
        """A goodbye's audio should have been heard by now: end the call."""
        ...

    def time_limit_reached(self) -> None:
        """The call is near its authorised time and nobody has the floor: say goodbye."""
        ...

    async def keep_recogniser_alive(self) -> None: ...

    def silence_reached(self, step: SilenceStep) -> None: ...


class CallTimers:
    def __init__(self, clock: Clock, config: ConversationConfig, events: TimerEvents) -> None:
        self._clock = clock
        self._config = config
        self._events = events
        self._last_activity = 0.0
        self._after_silence = SilenceStep.PROMPT
        self._wrap_up_at = float("inf")
        self.wrap_up_due = False  # the time-limit goodbye is due (said as soon as nobody has the floor)
        self._keep_alive_at: float | None = None
        self._goodbye_deadline: float | None = None  # end even if a goodbye's last mark never comes back
        self._goodbye_reason = ""
        self._wake: asyncio.Future | None = None

    def start(self, now: float, authorized_seconds: int) -> None:
        """The call begins: silence is counted from now, the goodbye is due a little before the limit."""
        self._last_activity = now
        before = min(self._config.goodbye_before_limit_seconds, authorized_seconds / 4)
        self._wrap_up_at = now + authorized_seconds - before

    def note_activity(self, now: float) -> None:
        """The caller spoke or pressed a key: the silence starts over, prompt first."""
        self._last_activity = now
        self._after_silence = SilenceStep.PROMPT

    def persona_turn_began(self) -> None:
        self._keep_alive_at = self._clock.now() + self._config.keep_alive_seconds
        self.wake()

    def persona_turn_heard(self) -> None:
        """Silence is counted from the end of the persona's turn."""
        self._last_activity = self._clock.now()
        self.wake()

    def goodbye_sent(self, audio_seconds: float, reason: str) -> None:
        """A goodbye's audio is all out: end the call once it has played, even if its marks never return."""
        self._goodbye_reason = reason
        self._goodbye_deadline = self._clock.now() + audio_seconds + self._config.goodbye_grace_seconds
        self.wake()

    def cancel_goodbye(self) -> None:
        self._goodbye_deadline = None

    def wake(self) -> None:
        """A deadline may have moved earlier: the timer task recomputes its sleep."""
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def run(self) -> None:
        """Sleeps until the nearest deadline (or a wake), acts on what is due, and again until the call ends."""
        loop = asyncio.get_running_loop()
        while not self._events.ended:
            deadline = self._next_deadline()
            self._wake = loop.create_future()
            waiting = {self._wake}
            if deadline is not None:
                waiting.add(asyncio.ensure_future(self._clock.sleep(max(0.0, deadline - self._clock.now()))))
            try:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiting:
                    waiter.cancel()
            await self._act_on_due(self._clock.now())

    def _silence_deadline(self) -> float:
        if self._after_silence is SilenceStep.PROMPT:
            return self._last_activity + self._config.silence_prompt_seconds
        return self._last_activity + self._config.silence_end_seconds

    def _next_deadline(self) -> float | None:
        deadlines = [self._wrap_up_at] if not self.wrap_up_due else []
        if self._goodbye_deadline is not None:
            deadlines.append(self._goodbye_deadline)
        if self._events.persona_has_turn() and self._keep_alive_at is not None:
            deadlines.append(self._keep_alive_at)
        if self._events.idle():
            deadlines.append(self._silence_deadline())
        return min(deadlines, default=None)

    async def _act_on_due(self, now: float) -> None:
        events = self._events
        if events.ended:
            return
        if self._goodbye_deadline is not None and now >= self._goodbye_deadline:
            await events.goodbye_overdue(self._goodbye_reason)
            return
        if not self.wrap_up_due and now >= self._wrap_up_at:
            self.wrap_up_due = True
            if events.idle():
                events.time_limit_reached()
            return
        if events.persona_has_turn() and self._keep_alive_at is not None and now >= self._keep_alive_at:
            self._keep_alive_at = now + self._config.keep_alive_seconds
            await events.keep_recogniser_alive()
        if events.idle() and now >= self._silence_deadline():
            step = self._after_silence
            self._after_silence = SilenceStep.GOODBYE
            events.silence_reached(step)
