"""What the caller actually heard, from Twilio's marks and the TTS alignment.

Every outbound chunk is followed by a mark; Twilio echoes a mark once the audio before it
has played. A mark echoed before we sent `clear` is audio heard. `clear` drops Twilio's
buffer and makes it echo every remaining mark at once, so the marks outstanding at that
moment are recorded as flushed and ignored when they come back. The chunk that was
playing when `clear` went out started when the previous mark came back (or when it was
sent, if the line was idle); the time since then, against the chunk's character timings,
says which of its words were finished. The rest of that chunk, from the start of the
first unfinished word, and the chunks after it are kept: played again if the caller
turns out not to be taking the turn, dropped if they are.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from voice.audio import BYTES_PER_MS

CHARS_PER_SECOND = 15.0  # speaking rate assumed for audio that came without character timings

Alignment = tuple[tuple[str, int, int], ...]  # (character, start_ms, duration_ms) within the chunk


@dataclass(frozen=True)
class OutboundChunk:
    mulaw: bytes
    alignment: Alignment

    @property
    def duration_ms(self) -> float:
        return len(self.mulaw) / BYTES_PER_MS

    @property
    def text(self) -> str:
        return "".join(char for char, _, _ in self.alignment)

    @classmethod
    def spread(cls, mulaw: bytes, text: str) -> OutboundChunk:
        """A chunk whose characters are assumed evenly spread over its audio (no timings known)."""
        if not text:
            return cls(mulaw, ())
        step = len(mulaw) / BYTES_PER_MS / len(text)
        return cls(mulaw, tuple((char, round(i * step), max(1, round(step))) for i, char in enumerate(text)))

    def split(self, elapsed_ms: float) -> tuple[str, OutboundChunk | None]:
        """The words finished within `elapsed_ms` of playing, and the chunk from the next word on."""
        chars = self.alignment
        index = 0
        while index < len(chars):
            if chars[index][0].isspace():
                index += 1
                continue
            end = index
            while end < len(chars) and not chars[end][0].isspace():
                end += 1
            _, start_ms, duration_ms = chars[end - 1]
            if start_ms + duration_ms > elapsed_ms:
                cut_ms = chars[index][1]
                rest = tuple((char, start - cut_ms, length) for char, start, length in chars[index:])
                heard = "".join(char for char, _, _ in chars[:index])
                return heard, OutboundChunk(self.mulaw[cut_ms * BYTES_PER_MS :], rest)
            index = end
        return self.text, None


@dataclass(eq=False)
class TurnAudio:
    """One persona turn's audio: the text given to the TTS, what was heard, what is held back."""

    spoken_text: str = ""  # everything sent to the TTS for this turn
    heard: list[str] = field(default_factory=list)
    held: list[OutboundChunk] = field(default_factory=list)  # not sent, or flushed by a clear
    in_flight: int = 0  # chunks sent whose mark has not come back
    sent_ms: float = 0.0  # audio sent so far (played again after a pause counts twice)
    _text_cursor: int = 0  # how much of spoken_text the audio so far accounts for

    def chunk(self, mulaw: bytes, alignment: Alignment) -> OutboundChunk:
        """A chunk of this turn's TTS audio; without timings, its text is estimated from the rate."""
        if alignment:
            chunk = OutboundChunk(mulaw, alignment)
        else:
            count = round(len(mulaw) / BYTES_PER_MS / 1000 * CHARS_PER_SECOND)
            chunk = OutboundChunk.spread(mulaw, self.spoken_text[self._text_cursor : self._text_cursor + count])
        self._text_cursor += len(chunk.alignment)
        return chunk

    @property
    def heard_text(self) -> str:
        return " ".join("".join(self.heard).split())


@dataclass(eq=False)
class _Sent:
    mark: str
    owner: TurnAudio
    chunk: OutboundChunk
    sent_at: float


class Playback:
    """The marks of one call: outstanding, flushed, and when audio last finished playing."""

    def __init__(self) -> None:
        self._outstanding: deque[_Sent] = deque()
        self._flushed: set[str] = set()
        self._last_played_at: float | None = None
        self._count = 0

    def sent(self, owner: TurnAudio, chunk: OutboundChunk, now: float) -> str:
        """Register a chunk about to be sent; returns the name of the mark to send after it."""
        self._count += 1
        mark = f"m{self._count}"
        self._outstanding.append(_Sent(mark, owner, chunk, now))
        owner.in_flight += 1
        owner.sent_ms += chunk.duration_ms
        return mark

    def played(self, mark: str, now: float) -> TurnAudio | None:
        """Twilio echoed `mark`; returns the turn whose audio was heard, None for a flushed mark."""
        if mark in self._flushed:
            self._flushed.discard(mark)
            return None
        if all(sent.mark != mark for sent in self._outstanding):
            return None
        while self._outstanding:  # marks come back in order; anything before this one has played too
            sent = self._outstanding.popleft()
            sent.owner.heard.append(sent.chunk.text)
            sent.owner.in_flight -= 1
            if sent.mark == mark:
                break
        self._last_played_at = now
        return sent.owner

    def clear(self, now: float) -> None:
        """`clear` is going out: count what was heard of the playing chunk, hold back the rest."""
        if not self._outstanding:
            return
        playing = self._outstanding[0]
        started = playing.sent_at if self._last_played_at is None else max(playing.sent_at, self._last_played_at)
        heard, rest = playing.chunk.split((now - started) * 1000)
        playing.owner.heard.append(heard)
        returned: dict[int, tuple[TurnAudio, list[OutboundChunk]]] = {}
        if rest is not None:
            returned[id(playing.owner)] = (playing.owner, [rest])
        for index, sent in enumerate(self._outstanding):
            self._flushed.add(sent.mark)
            sent.owner.in_flight -= 1
            if index:
                returned.setdefault(id(sent.owner), (sent.owner, []))[1].append(sent.chunk)
        for owner, chunks in returned.values():
            owner.held[:0] = chunks
        self._outstanding.clear()

    @property
    def audible(self) -> bool:
        """Audio sent that has not finished playing."""
        return bool(self._outstanding)
