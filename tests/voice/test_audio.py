"""The phone audio format and its conversions."""

import io
import wave

import pytest

from voice.audio import FRAME_BYTES, FRAME_SECONDS, SAMPLE_RATE, mulaw_duration_ms, wav_to_mulaw


def wav(*, rate: int, channels: int, seconds: float, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(bytes(int(rate * seconds) * channels * width))
    return buffer.getvalue()


def test_a_frame_is_twenty_milliseconds_of_eight_khz_mu_law():
    assert (SAMPLE_RATE, FRAME_BYTES, FRAME_SECONDS) == (8000, 160, 0.02)
    assert mulaw_duration_ms(bytes(FRAME_BYTES)) == 20


@pytest.mark.parametrize(("rate", "channels", "width"), [(8000, 1, 2), (16000, 1, 2), (22050, 2, 2), (8000, 1, 1)])
def test_a_pcm_wav_becomes_phone_audio_of_the_same_length(rate, channels, width):
    mulaw = wav_to_mulaw(wav(rate=rate, channels=channels, width=width, seconds=0.5))
    assert abs(len(mulaw) - 4000) <= 2


def test_a_wav_streamed_with_placeholder_sizes_is_read_to_its_end():
    data = bytearray(wav(rate=8000, channels=1, seconds=0.25))
    data[4:8] = data[40:44] = (0x7FFFF000).to_bytes(4, "little")  # espeak-ng's sizes on a pipe
    assert len(wav_to_mulaw(bytes(data))) == 2000


def test_anything_but_a_wav_is_refused():
    with pytest.raises(ValueError):
        wav_to_mulaw(b"not a wav at all")
