"""Turn-taking: when the caller is talking over the persona, and what their words amount to.

The engine asks an `InterruptionStrategy` while the persona is audible; `PauseThenCommit`
is the default, and another strategy (a turn-detection model, a minimum word count) is
passed to the conversation without editing it.

The default decides barge-in in two steps, because the two goals pull apart: stopping the persona
within ~150 ms of the caller's first voiced frame, and not cutting it off for a cough, a
burst of noise or an "mm-hm".

1. Pause (fast, on local evidence). A run of `pause_frames` voiced frames (120 ms by
   default) while the persona is audible -- or `confirmed_frames` (60 ms) once the
   recogniser has also reported speech starting -- sends `clear` at once. The reply
   keeps being generated and nothing is thrown away: the audio not yet played is held.
2. Commit or resume (on the recogniser's words). Real words that are neither a
   backchannel nor an echo of the persona's own sentence commit the interruption: the
   LLM and TTS work is cancelled and the persona's turn is cut to what was heard. So does
   a long stretch of voiced audio (`commit_without_words_ms`) the recogniser has not
   transcribed yet. If instead the caller falls quiet for `resume_after_silence_ms`
   with no such words (a cough, a "yeah", a door), the held audio is sent again from
   the start of the word that was playing: the persona pauses briefly, as a person
   would, and carries on.

The cost of meeting the latency target before the recogniser can confirm is that short
noises and backchannels longer than `pause_frames` make the persona pause for about half
a second; they never cost it its turn. Setting `pause_frames=None` trades the other way:
no pause without the recogniser, so barge-in then takes the recogniser's latency.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Protocol

from voice.audio import FRAME_SECONDS

_WORD = re.compile(r"[a-z0-9']+")

# Words that, on their own, acknowledge rather than take the turn ("mm-hm", "yeah, ok", "I see").
BACKCHANNEL_WORDS = frozenset(
    {"mm", "mmm", "hm", "hmm", "mhm", "uh", "huh", "um", "ah", "aha", "oh", "wow", "cool"}
    | {"yeah", "yes", "yep", "yup", "ok", "okay", "right", "sure", "alright", "i", "see", "got", "it"}
)
BACKCHANNEL_MAX_WORDS = 3
ECHO_OVERLAP = 0.8  # this share of a transcript's words in the persona's sentence: it is hearing itself


def words(text: str) -> list[str]:
    """Lower-case words, punctuation and hyphens dropped ("Mm-hm." -> ["mm", "hm"])."""
    return _WORD.findall(text.lower().replace("-", " "))


def same_words(first: str, second: str) -> bool:
    return words(first) == words(second)


def is_backchannel(text: str) -> bool:
    spoken = words(text)
    return 0 < len(spoken) <= BACKCHANNEL_MAX_WORDS and all(word in BACKCHANNEL_WORDS for word in spoken)


def is_echo(text: str, persona_text: str) -> bool:
    """The recogniser transcribed the persona's own voice coming back down the line."""
    spoken = words(text)
    if not spoken:
        return False
    said = set(words(persona_text))
    return sum(word in said for word in spoken) >= ECHO_OVERLAP * len(spoken)


def talks_over(text: str, persona_text: str) -> bool:
    """Words that mean the caller is taking the turn while the persona speaks."""
    return bool(words(text)) and not is_backchannel(text) and not is_echo(text, persona_text)


class BargeIn(enum.Enum):
    NONE = "none"
    PAUSE = "pause"  # send clear, hold the rest of the persona's audio
    COMMIT = "commit"  # the caller has the turn: cancel the reply, cut it to what was heard
    RESUME = "resume"  # it was nothing: play the held audio


class InterruptionStrategy(Protocol):
    """Decides, while the persona is audible and may be interrupted, what the caller's
    voice and words do to it. One instance per call; O(1) per frame, it is on the hot path."""

    run_started_at: float | None  # the first voiced frame of the caller's current run, if any

    def frame(self, voiced: bool, now: float) -> BargeIn:
        """One 20 ms frame of the caller's audio, voiced or not by the VAD."""
        ...

    def speech_started(self, now: float) -> BargeIn:
        """The recogniser reported the caller starting to speak."""
        ...

    def transcript(self, text: str, persona_text: str) -> BargeIn:
        """The recogniser's words (interim or final) while `persona_text` is being said."""
        ...

    def acknowledges(self, text: str, persona_text: str) -> bool:
        """Whether a final transcript only acknowledges the persona (or echoes it): not a turn,
        and not part of the caller's next one."""
        ...

    def reset(self) -> None:
        """The persona's turn was interrupted or resumed: start afresh."""
        ...


@dataclass(frozen=True)
class BargeInConfig:
    pause_frames: int | None = 6  # voiced frames in a row that pause the persona (None: wait for the recogniser)
    confirmed_frames: int = 3  # ...once the recogniser has reported speech starting
    gap_frames: int = 2  # unvoiced frames a run may contain (speech flickers)
    commit_without_words_ms: int = 1000  # voiced audio during a pause that commits without a transcript
    resume_after_silence_ms: int = 600  # quiet after a pause, with no words, that resumes the persona
    speech_started_window_ms: int = 500  # a recogniser speech-start this long before a run belongs to it


class PauseThenCommit:
    """The default `InterruptionStrategy`: pause on the caller's voice, then commit on their
    words or resume on their quiet (see the module's docstring). No allocation per frame."""

    def __init__(self, config: BargeInConfig) -> None:
        self._config = config
        self._commit_frames = max(1, round(config.commit_without_words_ms / 1000 / FRAME_SECONDS))
        self.reset()

    def reset(self) -> None:
        self.run_started_at: float | None = None  # first voiced frame of the current run
        self._run_frames = 0
        self._gap = 0
        self._last_voiced_at: float | None = None
        self._speech_started_at: float | None = None
        self.paused_at: float | None = None
        self._voiced_while_paused = 0

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def frame(self, voiced: bool, now: float) -> BargeIn:
        if voiced:
            if self._run_frames == 0:
                self.run_started_at = now
            self._run_frames += 1
            self._gap = 0
            self._last_voiced_at = now
            if self.paused:
                self._voiced_while_paused += 1
                if self._voiced_while_paused >= self._commit_frames:
                    return BargeIn.COMMIT
        elif self._run_frames:
            self._gap += 1
            if self._gap > self._config.gap_frames:
                self._run_frames = 0
                self._gap = 0
                self.run_started_at = None
        if self.paused:
            quiet_since = self._last_voiced_at if self._last_voiced_at is not None else self.paused_at
            if not voiced and now - quiet_since >= self._config.resume_after_silence_ms / 1000:
                return BargeIn.RESUME
            return BargeIn.NONE
        return self._pause_if_due(now)

    def speech_started(self, now: float) -> BargeIn:
        """The recogniser reported speech starting: a shorter run is enough to pause."""
        self._speech_started_at = now
        return BargeIn.NONE if self.paused else self._pause_if_due(now)

    def transcript(self, text: str, persona_text: str) -> BargeIn:
        return BargeIn.COMMIT if talks_over(text, persona_text) else BargeIn.NONE

    def acknowledges(self, text: str, persona_text: str) -> bool:
        return is_backchannel(text) or is_echo(text, persona_text)

    def _pause_if_due(self, now: float) -> BargeIn:
        config = self._config
        needed = config.pause_frames
        if self._heard_by_recogniser():
            needed = config.confirmed_frames if needed is None else min(needed, config.confirmed_frames)
        if needed is None or self._run_frames < needed:
            return BargeIn.NONE
        self.paused_at = now
        self._voiced_while_paused = 0
        return BargeIn.PAUSE

    def _heard_by_recogniser(self) -> bool:
        if self._speech_started_at is None or self.run_started_at is None or not self._run_frames:
            return False
        return self._speech_started_at >= self.run_started_at - self._config.speech_started_window_ms / 1000
