"""The call's timers alone, on a fake clock: silence, the time limit, a goodbye's deadline, KeepAlive."""

import asyncio

from voice.engine.config import ConversationConfig
from voice.engine.timers import CallTimers, SilenceStep

from .scripted import FakeClock, run, settle


class Events:
    """A conversation as the timers see it: what happened is logged with its (fake) time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.ended = False
        self.quiet = True  # idle
        self.talking = False  # the persona has a turn
        self.log: list[tuple[str, float]] = []

    def idle(self) -> bool:
        return self.quiet

    def persona_has_turn(self) -> bool:
        return self.talking

    async def goodbye_overdue(self, reason: str) -> None:
        self.log.append((f"end:{reason}", self.clock.now() - 1000))
        self.ended = True

    def time_limit_reached(self) -> None:
        self.log.append(("time_limit", self.clock.now() - 1000))
        self.quiet = False  # the persona's goodbye begins

    async def keep_recogniser_alive(self) -> None:
        self.log.append(("keep_alive", self.clock.now() - 1000))

    def silence_reached(self, step: SilenceStep) -> None:
        self.log.append((step.value, self.clock.now() - 1000))
        self.quiet = False  # the persona's prompt or goodbye begins


async def started(authorized_seconds: int = 600, **config) -> tuple[CallTimers, Events, asyncio.Task]:
    clock = FakeClock()  # starts at 1000.0: the log shows seconds since
    events = Events(clock)
    timers = CallTimers(clock, ConversationConfig(**config), events)
    timers.start(clock.now(), authorized_seconds)
    task = asyncio.ensure_future(timers.run())
    await settle()
    return timers, events, task


def test_silence_brings_a_prompt_then_a_goodbye_counted_from_the_end_of_the_prompt():
    async def scenario():
        timers, events, task = await started()
        await events.clock.advance(10)
        events.quiet = True
        timers.persona_turn_heard()  # the prompt has been heard at 10 s
        await settle()
        await events.clock.advance(31)
        assert events.log == [("prompt", 8.0), ("goodbye", 40.0)]
        task.cancel()

    run(scenario())


def test_activity_restarts_the_silence_from_the_prompt():
    async def scenario():
        timers, events, task = await started()
        await events.clock.advance(8.5)
        events.quiet = True  # the prompt was heard, then the caller spoke
        timers.note_activity(events.clock.now())
        timers.wake()
        await settle()
        await events.clock.advance(8.5)
        assert events.log == [("prompt", 8.0), ("prompt", 16.5)]
        task.cancel()

    run(scenario())


def test_nothing_counts_as_silence_while_someone_has_the_floor():
    async def scenario():
        timers, events, task = await started()
        events.quiet = False
        timers.wake()
        await settle()
        await events.clock.advance(100)
        assert events.log == []
        task.cancel()

    run(scenario())


def test_the_time_limit_goodbye_is_due_a_minute_or_a_quarter_before_the_limit():
    async def scenario():
        timers, events, task = await started(authorized_seconds=100, silence_prompt_seconds=1000)
        await events.clock.advance(74.9)
        assert not timers.wrap_up_due
        await events.clock.advance(0.2)
        assert timers.wrap_up_due
        assert events.log == [("time_limit", 75.0)]
        task.cancel()

    run(scenario())


def test_a_goodbye_ends_the_call_past_its_audio_and_grace_unless_cancelled():
    async def scenario():
        timers, events, task = await started(silence_prompt_seconds=1000)
        events.quiet = False
        timers.goodbye_sent(2.0, "admin")
        await settle()
        await events.clock.advance(4.9)
        assert events.log == []
        await events.clock.advance(0.2)
        assert events.log == [("end:admin", 5.0)]
        await settle()
        assert task.done()  # the call ended: the timers stop

    run(scenario())


def test_keep_alive_goes_every_five_seconds_while_the_persona_has_a_turn():
    async def scenario():
        timers, events, task = await started(silence_prompt_seconds=1000)
        events.talking = True
        timers.persona_turn_began()
        await settle()
        await events.clock.advance(11)
        assert events.log == [("keep_alive", 5.0), ("keep_alive", 10.0)]
        task.cancel()

    run(scenario())
