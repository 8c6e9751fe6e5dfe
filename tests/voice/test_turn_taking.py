"""Telling a turn from a backchannel or an echo, and the frame-by-frame barge-in decisions."""

from voice.engine.turn_taking import BargeIn, BargeInConfig, PauseThenCommit, is_backchannel, is_echo, talks_over

FRAME = 0.02


def test_short_acknowledgements_are_backchannels():
    for text in ["Mm-hm.", "yeah", "Okay, okay.", "uh-huh", "I see"]:
        assert is_backchannel(text), text
    for text in ["Yeah but wait", "No", "Stop", ""]:
        assert not is_backchannel(text), text


def test_a_transcript_of_the_personas_own_words_is_an_echo():
    said = "Oh, I am well, dear. Let me tell you about my garden."
    assert is_echo("tell you about my garden", said)
    assert not is_echo("what about my car", said)
    assert talks_over("Wait, what about my car?", said)
    assert not talks_over("mm-hm", said)


def run_frames(detector: PauseThenCommit, pattern: str, start: float = 0.0) -> list[BargeIn]:
    return [detector.frame(char == "v", start + index * FRAME) for index, char in enumerate(pattern)]


def test_six_voiced_frames_pause_even_with_a_short_gap():
    detector = PauseThenCommit(BargeInConfig())
    actions = run_frames(detector, "vvv.vvv")
    assert actions[-1] is BargeIn.PAUSE
    assert actions.count(BargeIn.PAUSE) == 1


def test_a_longer_gap_starts_a_new_run():
    detector = PauseThenCommit(BargeInConfig())
    assert BargeIn.PAUSE not in run_frames(detector, "vvvvv...vvvvv")


def test_quiet_after_a_pause_resumes():
    detector = PauseThenCommit(BargeInConfig(resume_after_silence_ms=100))
    actions = run_frames(detector, "vvvvvv" + "." * 6)
    assert actions[5] is BargeIn.PAUSE
    assert actions[-1] is BargeIn.RESUME


def test_without_pause_frames_only_the_recogniser_can_pause():
    detector = PauseThenCommit(BargeInConfig(pause_frames=None))
    assert BargeIn.PAUSE not in run_frames(detector, "v" * 20)
    assert detector.speech_started(0.4) is BargeIn.PAUSE
