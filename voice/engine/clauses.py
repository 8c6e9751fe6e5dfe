"""Cutting the LLM's streamed reply into clauses for text-to-speech.

Each clause is sent to the TTS with a flush as soon as it is complete, so the persona's
first words are synthesised while the LLM is still writing the rest. A clause ends at
, ; : . ? ! followed by a space, at a line break, or at a length cap (on a word boundary)
for long runs without punctuation. A streamed piece that ends on , ; : ? or ! ends its clause
at once, without waiting for the next piece to bring the space (a full stop waits: "3." may
go on as "3.5"; so does a comma after a digit: "1," may be "1,000"). What reaches the TTS is plain spoken text: markdown
and list markers the model slips in are removed rather than read aloud.
"""

from __future__ import annotations

import re

CLAUSE_ENDINGS = frozenset(",;:.?!")
FINAL_CLAUSE_ENDINGS = frozenset(",;:?!")  # end a clause even as the last character so far
_MARKUP = re.compile(r"[*_#`~|<>\[\]]+")
_LIST_MARKER = re.compile(r"^\s*(?:[-\u2022]|\d+[.)])(?:\s+|$)")
_SPACES = re.compile(r"\s+")


def speakable(text: str) -> str:
    """Text as it should be said: no markdown, no list markers, single spaces."""
    text = _LIST_MARKER.sub("", _MARKUP.sub("", text))
    return _SPACES.sub(" ", text).strip()


class ClauseBuffer:
    """Accumulates streamed text and hands out complete clauses."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._text = ""

    def feed(self, delta: str) -> list[str]:
        self._text += delta
        clauses = []
        while (cut := self._clause_end()) is not None:
            clause, self._text = speakable(self._text[:cut]), self._text[cut:]
            if clause:
                clauses.append(clause)
        return clauses

    def flush(self) -> str:
        """The rest of the reply once the LLM has finished."""
        rest, self._text = speakable(self._text), ""
        return rest

    def _clause_end(self) -> int | None:
        text = self._text
        for index, char in enumerate(text[:-1]):
            if char == "\n" or (char in CLAUSE_ENDINGS and text[index + 1].isspace()):
                return index + 1
        if len(text) > 1 and text[-1] in FINAL_CLAUSE_ENDINGS and not (text[-1] == "," and text[-2].isdigit()):
            return len(text)
        if len(text) > self._max_chars:
            space = text.rfind(" ", 0, self._max_chars)
            return space + 1 if space > 0 else self._max_chars
        return None
