"""Voice activity on the caller's audio: webrtcvad gated by adaptive energy floors.

webrtcvad alone calls steady line noise and the persona's own echo "speech", so a frame
only counts as voiced when it is also loud enough: above a noise floor that follows the
quiet between words (falls fast, rises slowly), and, while the persona talks, above the
level of what comes back down the line then (speakerphone echo, a television), with the
more aggressive webrtcvad mode. Both checks cost a few microseconds per 20 ms frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import webrtcvad

from voice.audio import FRAME_BYTES, PCM_WIDTH, SAMPLE_RATE, audioop


@dataclass(frozen=True)
class VadConfig:
    listening_aggressiveness: int = 2  # webrtcvad mode while the persona is quiet
    talking_aggressiveness: int = 3  # stricter while the persona talks (echo, noise)
    min_rms: int = 250  # PCM16 RMS below which nothing is speech (line hiss, digital silence)
    noise_ratio: float = 2.5  # speech stands this far above the noise floor (~8 dB)
    floor_fall: float = 0.2  # per-frame weight when a frame is quieter than the floor
    floor_rise: float = 0.004  # ...and when it is louder (~5 s time constant)
    echo_ratio: float = 3.0  # while the persona talks, speech stands this far above the line's level
    echo_adapt: float = 0.05  # per-frame weight of that level's average (~0.4 s)
    echo_adapt_voiced: float = 0.01  # slower on frames taken as the caller's voice


class VoiceActivityDetector:
    """Classifies 20 ms mu-law frames as the caller's voice or not; one instance per call."""

    def __init__(self, config: VadConfig) -> None:
        self._config = config
        self._listening = webrtcvad.Vad(config.listening_aggressiveness)
        self._talking = webrtcvad.Vad(config.talking_aggressiveness)
        self._noise_floor = float(config.min_rms)
        self._line_level = float(config.min_rms)  # what the line carries while the persona talks
        self._carry = b""

    def frames(self, mulaw: bytes, *, persona_talking: bool) -> list[bool]:
        """One verdict per whole 20 ms frame in `mulaw`; a partial frame waits for the next call."""
        if not self._carry and len(mulaw) == FRAME_BYTES:
            return [self.voiced(mulaw, persona_talking=persona_talking)]
        data = self._carry + mulaw
        whole = len(data) - len(data) % FRAME_BYTES
        self._carry = data[whole:]
        return [
            self.voiced(data[start : start + FRAME_BYTES], persona_talking=persona_talking)
            for start in range(0, whole, FRAME_BYTES)
        ]

    def voiced(self, frame: bytes, *, persona_talking: bool) -> bool:
        """Whether one 20 ms frame is the caller speaking."""
        config = self._config
        pcm = audioop.ulaw2lin(frame, PCM_WIDTH)
        rms = audioop.rms(pcm, PCM_WIDTH)
        threshold = max(config.min_rms, self._noise_floor * config.noise_ratio)
        if persona_talking:
            threshold = max(threshold, self._line_level * config.echo_ratio)
        vad = self._talking if persona_talking else self._listening
        voiced = rms >= threshold and vad.is_speech(pcm, SAMPLE_RATE)

        weight = config.floor_fall if rms < self._noise_floor else config.floor_rise
        self._noise_floor += weight * (rms - self._noise_floor)
        if persona_talking:
            weight = config.echo_adapt_voiced if voiced else config.echo_adapt
            self._line_level += weight * (rms - self._line_level)
        return voiced
