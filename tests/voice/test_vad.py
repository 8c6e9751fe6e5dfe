"""The voice-activity detector on synthetic phone audio."""

import random
import warnings

from voice.audio import FRAME_BYTES
from voice.engine.vad import VadConfig, VoiceActivityDetector

from .scripted import SILENCE, VOICED, voiced_frames

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop


def noise_frames(count: int, level: float = 1500.0) -> list[bytes]:
    generator = random.Random(7)
    frames = []
    for _ in range(count):
        samples = b"".join(int(generator.gauss(0, level)).to_bytes(2, "little", signed=True) for _ in range(160))
        frames.append(audioop.lin2ulaw(samples, 2))
    return frames


def verdicts(vad: VoiceActivityDetector, frames: list[bytes], *, talking: bool = False) -> list[bool]:
    return [vad.voiced(frame, persona_talking=talking) for frame in frames]


def test_speech_like_frames_are_voiced_and_silence_is_not():
    vad = VoiceActivityDetector(VadConfig())
    assert not any(verdicts(vad, [SILENCE] * 20))
    assert all(verdicts(vad, VOICED[:20]))


def test_steady_line_noise_stops_counting_as_voice_once_the_floor_has_learnt_it():
    vad = VoiceActivityDetector(VadConfig())
    noise = noise_frames(400)
    verdict = verdicts(vad, noise)
    assert not any(verdict[-100:])
    assert all(verdicts(vad, voiced_frames(20, amplitude=8000.0)))  # a voice over that noise still counts


def test_while_the_persona_talks_its_echo_is_not_the_callers_voice():
    vad = VoiceActivityDetector(VadConfig())
    echo = voiced_frames(200, f0=180.0, amplitude=1000.0)  # a loud speakerphone echo
    verdict = verdicts(vad, echo, talking=True)
    assert any(verdict[:10])  # webrtcvad alone takes it for speech
    assert not any(verdict[-150:])
    assert all(verdicts(vad, voiced_frames(10, amplitude=8000.0), talking=True))


def test_frames_of_any_length_are_cut_into_20_ms_pieces_and_the_rest_waits():
    vad = VoiceActivityDetector(VadConfig())
    audio = b"".join(VOICED[:3])
    assert vad.frames(audio[:250], persona_talking=False) == [True]
    assert vad.frames(audio[250:], persona_talking=False) == [True, True]
    assert len(audio) == 3 * FRAME_BYTES
