"""Cutting the streamed reply into clauses for the TTS."""

from voice.engine.clauses import ClauseBuffer, speakable


def feed_all(buffer: ClauseBuffer, deltas: list[str]) -> list[str]:
    clauses = []
    for delta in deltas:
        clauses.extend(buffer.feed(delta))
    return [*clauses, buffer.flush()]


def test_clauses_end_at_punctuation_followed_by_a_space():
    buffer = ClauseBuffer(max_chars=90)
    assert feed_all(buffer, ["Oh", ", hello", " there. How", " are you? ", "Fine"]) == [
        "Oh,",
        "hello there.",
        "How are you?",
        "Fine",
    ]


def test_a_piece_ending_on_a_comma_or_question_mark_ends_its_clause_at_once():
    buffer = ClauseBuffer(max_chars=90)
    assert buffer.feed("Oh,") == ["Oh,"]
    assert buffer.feed(" really?") == ["really?"]
    assert buffer.feed(" That is") == []


def test_a_piece_ending_on_a_full_stop_or_a_digit_and_comma_waits_for_the_next():
    buffer = ClauseBuffer(max_chars=90)
    assert buffer.feed("It costs 3.") == []
    assert buffer.feed("50, or 1,") == ["It costs 3.50,"]
    assert buffer.feed("000 in all.") == []
    assert buffer.flush() == "or 1,000 in all."


def test_decimals_are_not_cut():
    buffer = ClauseBuffer(max_chars=90)
    assert buffer.feed("It costs 3.50 today") == []


def test_a_long_run_without_punctuation_is_cut_on_a_word_boundary():
    buffer = ClauseBuffer(max_chars=20)
    assert buffer.feed("and then we went down to the river") == ["and then we went"]
    assert buffer.flush() == "down to the river"


def test_markdown_and_list_markers_are_not_read_aloud():
    assert speakable("**Bold** and _this_") == "Bold and this"
    assert speakable("- first item") == "first item"
    assert speakable("2. second") == "second"
    assert speakable("It is 2.5 km") == "It is 2.5 km"
