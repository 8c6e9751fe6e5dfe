"""Working out what the caller heard from marks, clears and character timings."""

from voice.audio import BYTES_PER_MS
from voice.engine.playback import OutboundChunk, Playback, TurnAudio

from .scripted import MS_PER_CHAR, speech_for


def chunk(text: str) -> OutboundChunk:
    audio = speech_for(text)
    return OutboundChunk(audio.mulaw, audio.alignment)


def test_split_keeps_the_finished_words_and_the_audio_from_the_next_words_start():
    heard, rest = chunk("see you soon").split(elapsed_ms=5.5 * MS_PER_CHAR)
    assert heard == "see "
    assert rest.text == "you soon"
    assert len(rest.mulaw) == len("you soon") * MS_PER_CHAR * BYTES_PER_MS
    assert rest.alignment[0][1] == 0


def test_split_after_the_end_keeps_everything_and_nothing_is_left():
    assert chunk("see you").split(elapsed_ms=10_000) == ("see you", None)


def test_a_chunk_without_timings_spreads_the_turns_text_at_a_speaking_rate():
    turn = TurnAudio(spoken_text="Hello there, how are you doing today? ")
    first = turn.chunk(b"\x7f" * 8000, ())  # one second: fifteen characters
    assert first.text == "Hello there, ho"
    assert turn.chunk(b"\x7f" * 3200, ()).text == "w are "


def test_echoed_marks_count_their_chunks_as_heard_in_order():
    playback, turn = Playback(), TurnAudio()
    first = playback.sent(turn, chunk("one "), now=0.0)
    second = playback.sent(turn, chunk("two "), now=0.0)
    assert playback.played(second, now=0.4) is turn  # the earlier mark was lost: it played too
    assert turn.heard_text == "one two"
    assert turn.in_flight == 0
    assert playback.played(first, now=0.5) is None


def test_clear_counts_the_finished_words_of_the_playing_chunk_and_holds_the_rest():
    playback, turn = Playback(), TurnAudio()
    first = playback.sent(turn, chunk("one two "), now=0.0)
    playback.sent(turn, chunk("three "), now=0.0)
    playback.played(first, now=0.4)
    playback.clear(now=0.4 + 2.5 * MS_PER_CHAR / 1000)  # "thr" of "three" has played
    assert turn.heard_text == "one two"
    assert [held.text for held in turn.held] == ["three "]
    assert not playback.audible


def test_marks_flushed_by_a_clear_are_not_heard_when_they_come_back():
    playback, turn = Playback(), TurnAudio()
    first = playback.sent(turn, chunk("one two "), now=0.0)
    second = playback.sent(turn, chunk("three "), now=0.0)
    playback.clear(now=0.21)  # "one " finished, "two" playing
    assert playback.played(first, now=0.22) is None
    assert playback.played(second, now=0.22) is None
    assert turn.heard_text == "one"
    assert [held.text for held in turn.held] == ["two ", "three "]
