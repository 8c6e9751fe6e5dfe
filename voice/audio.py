"""The phone's audio format, defined once, and the conversions to and from it.

A phone line carries 8 kHz mu-law, one byte a sample; Twilio Media Streams send and expect
it in 20 ms frames. Conversions run on the C `audioop` module (in the standard library up
to Python 3.12, from the `audioop-lts` backport on 3.13+): each call is a single pass in
C, cheap enough for the event loop. WAV files are read with the standard `wave` module.
"""

import io
import warnings
import wave

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # deprecated in 3.11-3.12, still the fastest codec here
    import audioop

SAMPLE_RATE = 8000  # samples a second on the phone line
BYTES_PER_MS = SAMPLE_RATE // 1000  # mu-law is one byte a sample
FRAME_SECONDS = 0.02  # the frame Twilio sends and expects
FRAME_BYTES = round(SAMPLE_RATE * FRAME_SECONDS)  # 160
PCM_WIDTH = 2  # bytes a sample of the 16-bit PCM the codecs work on


def mulaw_to_pcm(mulaw: bytes) -> bytes:
    return audioop.ulaw2lin(mulaw, PCM_WIDTH)


def pcm_to_mulaw(pcm: bytes) -> bytes:
    return audioop.lin2ulaw(pcm, PCM_WIDTH)


def mulaw_duration_ms(mulaw: bytes) -> int:
    return len(mulaw) // BYTES_PER_MS


class Resampler:
    """Mono 16-bit PCM rate conversion that keeps its filter state across chunks of a stream."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self._from_rate = from_rate
        self._to_rate = to_rate
        self._state = None

    def convert(self, pcm: bytes) -> bytes:
        if self._from_rate == self._to_rate:
            return pcm
        converted, self._state = audioop.ratecv(pcm, PCM_WIDTH, 1, self._from_rate, self._to_rate, self._state)
        return converted


def wav_to_mulaw(data: bytes) -> bytes:
    """A PCM WAV (any rate, mono or stereo) as phone audio.

    A WAV streamed to a pipe (espeak-ng's) carries placeholder chunk sizes larger than the
    file: `wave` then reads its data to the end of the file.
    """
    try:
        with wave.open(io.BytesIO(data)) as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            pcm = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(f"not a PCM WAV file: {error}") from error
    pcm = pcm[: len(pcm) - len(pcm) % (width * channels)]
    if channels == 2:
        pcm = audioop.tomono(pcm, width, 0.5, 0.5)
    elif channels != 1:
        raise ValueError(f"expected mono or stereo audio, not {channels} channels")
    if width != PCM_WIDTH:
        pcm = audioop.lin2lin(pcm, width, PCM_WIDTH)
    return pcm_to_mulaw(Resampler(rate, SAMPLE_RATE).convert(pcm))
