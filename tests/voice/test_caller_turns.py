"""The caller's side of turn-taking alone, against a fake floor: what their words and voice ask of it."""

from voice.engine.call import HeardTurn
from voice.engine.caller import CallerTurns
from voice.engine.config import ConversationConfig
from voice.engine.metrics import ConversationMetrics
from voice.engine.replies import PersonaTurn
from voice.engine.timers import CallTimers
from voice.engine.transcript import Transcript
from voice.engine.turn_taking import BargeInConfig, PauseThenCommit
from voice.providers.base import TranscriptUpdate

from .scripted import FRAME, FakeClock


class FakeFloor:
    def __init__(self) -> None:
        self.turn: PersonaTurn | None = None
        self.conversing = True
        self.persona_paused = False
        self.asked: list[str] = []

    def pause_persona(self, now: float) -> bool:
        self.asked.append("pause")
        self.persona_paused = True
        return True

    def resume_persona(self) -> None:
        self.asked.append("resume")

    def interrupt_persona(self, now: float) -> None:
        self.asked.append("interrupt")
        self.turn = None

    def cancel_pending_reply(self) -> None:
        self.asked.append("cancel")

    def reply(self, *, history, metrics, speculative_text=None) -> None:
        self.asked.append(f"reply to {history[-1].content!r}")


class Records:
    def __init__(self) -> None:
        self.turns: list[HeardTurn] = []

    def record_turn(self, turn: HeardTurn) -> None:
        self.turns.append(turn)


def caller_turns() -> tuple[CallerTurns, FakeFloor, Records, FakeClock]:
    clock, floor, records = FakeClock(), FakeFloor(), Records()
    transcript = Transcript(records, clock)
    transcript.start(clock.now())
    caller = CallerTurns(
        strategy=PauseThenCommit(BargeInConfig()),
        floor=floor,
        transcript=transcript,
        timers=CallTimers(clock, ConversationConfig(), events=None),
        metrics=ConversationMetrics(),
    )
    return caller, floor, records, clock


def speaking_turn() -> PersonaTurn:
    turn = PersonaTurn(context_id="turn-1", offset_ms=0)
    turn.audio.spoken_text = "Oh, I am well, dear. "
    return turn


def test_a_finished_utterance_is_recorded_and_answered():
    caller, floor, records, clock = caller_turns()
    caller.transcript(TranscriptUpdate("I was baking.", is_final=True, end_of_turn=False), clock.now())
    assert caller.mid_utterance
    caller.transcript(TranscriptUpdate("Bread.", is_final=True, end_of_turn=True), clock.now())
    assert [(turn.speaker, turn.text) for turn in records.turns] == [("person", "I was baking. Bread.")]
    assert floor.asked == ["cancel", "reply to 'I was baking. Bread.'"]
    assert not caller.mid_utterance


def test_voice_over_the_persona_pauses_it_and_words_then_interrupt_it():
    caller, floor, _, clock = caller_turns()
    floor.turn = speaking_turn()
    for index in range(6):
        caller.frame(True, clock.now() + index * FRAME)
    assert floor.asked == ["pause"]
    caller.transcript(TranscriptUpdate("Wait, stop", is_final=False, end_of_turn=False), clock.now())
    assert floor.asked == ["pause", "interrupt"]


def test_an_acknowledgement_over_the_persona_is_not_a_turn():
    caller, floor, records, clock = caller_turns()
    floor.turn = speaking_turn()
    caller.transcript(TranscriptUpdate("Mm-hm.", is_final=True, end_of_turn=True), clock.now())
    assert (floor.asked, records.turns) == ([], [])


def test_after_a_goodbye_the_caller_is_heard_but_not_answered():
    caller, floor, records, clock = caller_turns()
    floor.conversing = False
    caller.transcript(TranscriptUpdate("No wait.", is_final=True, end_of_turn=True), clock.now())
    assert [turn.text for turn in records.turns] == ["No wait."]
    assert floor.asked == []
