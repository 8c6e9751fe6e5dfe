"""The output channel alone: audio and marks, clear, held audio, against a recording line."""

import asyncio

from voice.engine.output import OutputChannel
from voice.engine.playback import OutboundChunk
from voice.engine.replies import PersonaTurn, TurnProgress

from .scripted import FakeClock, run, settle, speech_for


class RecordingLine:
    def __init__(self) -> None:
        self.sent: list[tuple] = []

    async def send_audio(self, mulaw: bytes) -> None:
        self.sent.append(("audio", len(mulaw)))

    async def send_mark(self, name: str) -> None:
        self.sent.append(("mark", name))

    async def send_clear(self) -> None:
        self.sent.append(("clear",))

    async def end_call(self, reason: str) -> None:
        raise AssertionError("the channel never hangs up")

    def record_turn(self, turn) -> None:
        raise AssertionError("the channel records nothing")


def chunk(text: str) -> OutboundChunk:
    audio = speech_for(text)
    return OutboundChunk(audio.mulaw, audio.alignment)


class Channel:
    """A channel whose current turn is `turn`, first audio noted in `first`."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.line = RecordingLine()
        self.turn = PersonaTurn(context_id="turn-1")
        self.first: list[PersonaTurn] = []
        self.channel = OutputChannel(
            self.line,
            self.clock,
            spawn=asyncio.ensure_future,
            is_current=lambda turn: turn is self.turn,
            on_first_audio=self.noted,
        )

    def noted(self, turn: PersonaTurn) -> None:
        turn.offset_ms = 0
        self.first.append(turn)


def test_each_chunk_goes_out_followed_by_its_mark_and_the_first_is_noted_once():
    async def scenario():
        channel = Channel()
        await channel.channel.deliver(channel.turn, chunk("one "))
        await channel.channel.deliver(channel.turn, chunk("two "))
        assert channel.line.sent == [("audio", 1600), ("mark", "m1"), ("audio", 1600), ("mark", "m2")]
        assert channel.first == [channel.turn]
        assert channel.channel.audible
        assert channel.channel.mark_played("m2") is channel.turn.audio
        assert not channel.channel.audible

    run(scenario())


def test_a_pause_clears_the_line_and_holds_what_comes_after_until_resumed():
    async def scenario():
        channel = Channel()
        await channel.channel.deliver(channel.turn, chunk("one two "))
        await channel.clock.advance(0.21)  # "one " played, "two" playing
        assert channel.channel.pause(channel.clock.now())
        assert not channel.channel.pause(channel.clock.now())  # already paused
        await channel.channel.deliver(channel.turn, chunk("three "))
        await settle()
        assert channel.line.sent[-1] == ("clear",)
        assert [held.text for held in channel.turn.audio.held] == ["two ", "three "]
        await channel.channel.resume(channel.turn)
        assert not channel.channel.paused
        assert channel.line.sent[-4:] == [("audio", 1600), ("mark", "m2"), ("audio", 2400), ("mark", "m3")]

    run(scenario())


def test_a_turn_that_is_stopped_or_no_longer_current_sends_nothing():
    async def scenario():
        channel = Channel()
        stopped = channel.turn
        stopped.progress = TurnProgress.STOPPED
        await channel.channel.deliver(stopped, chunk("one "))
        channel.turn = PersonaTurn(context_id="turn-2")
        await channel.channel.deliver(PersonaTurn(context_id="turn-3"), chunk("two "))
        assert channel.line.sent == []

    run(scenario())


def test_stop_clears_what_plays_once_and_unpauses():
    async def scenario():
        channel = Channel()
        await channel.channel.deliver(channel.turn, chunk("one "))
        channel.channel.stop(channel.clock.now())
        channel.channel.stop(channel.clock.now())  # nothing plays any more: no second clear
        await settle()
        assert channel.line.sent.count(("clear",)) == 1
        assert not channel.channel.paused and not channel.channel.audible

    run(scenario())
