"""Audio conversions for the local stand-ins, on top of the C `audioop` module.

`audioop` is in the standard library up to Python 3.12 and comes from the `audioop-lts`
backport on 3.13+. Each call is a single pass in C, cheap enough for the event loop.
"""

import struct
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # deprecated in 3.11-3.12, still the fastest codec here
    import audioop

TELEPHONE_RATE = 8000
SAMPLE_WIDTH = 2  # 16-bit PCM


def mulaw_to_pcm(mulaw: bytes) -> bytes:
    return audioop.ulaw2lin(mulaw, SAMPLE_WIDTH)


def pcm_to_mulaw(pcm: bytes) -> bytes:
    return audioop.lin2ulaw(pcm, SAMPLE_WIDTH)


class Resampler:
    """Mono 16-bit PCM rate conversion that keeps its filter state across chunks of a stream."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self._from_rate = from_rate
        self._to_rate = to_rate
        self._state = None

    def convert(self, pcm: bytes) -> bytes:
        if self._from_rate == self._to_rate:
            return pcm
        converted, self._state = audioop.ratecv(pcm, SAMPLE_WIDTH, 1, self._from_rate, self._to_rate, self._state)
        return converted


def wav_to_mulaw(wav: bytes) -> bytes:
    """A mono 16-bit PCM WAV (as espeak-ng writes it to a pipe) as 8 kHz mu-law.

    Streamed WAVs carry placeholder chunk sizes, so the data chunk is taken to run to
    the end of the file rather than trusting its header.
    """
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    position, rate, pcm = 12, 0, b""
    while position + 8 <= len(wav):
        chunk_id, size = wav[position : position + 4], struct.unpack("<I", wav[position + 4 : position + 8])[0]
        body = position + 8
        if chunk_id == b"fmt ":
            channels, rate, _, _, bits = struct.unpack("<HIIHH", wav[body + 2 : body + 16])
            if channels != 1 or bits != 16:
                raise ValueError("expected mono 16-bit PCM")
        elif chunk_id == b"data":
            pcm = wav[body:]
            break
        position = body + size + (size & 1)
    if not rate:
        raise ValueError("WAV without a format chunk")
    pcm = pcm[: len(pcm) - len(pcm) % SAMPLE_WIDTH]
    return pcm_to_mulaw(Resampler(rate, TELEPHONE_RATE).convert(pcm))


def mulaw_duration_ms(mulaw: bytes) -> int:
    """8 kHz mu-law is one byte per sample."""
    return len(mulaw) * 1000 // TELEPHONE_RATE
