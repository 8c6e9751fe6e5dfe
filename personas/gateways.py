"""The voices a persona may speak with: ElevenLabs' voices API, or without an API key a
built-in catalogue of ElevenLabs' premade voices. The only code here that talks to
ElevenLabs."""

import logging
from dataclasses import dataclass, field
from typing import Protocol

import requests
from django.conf import settings

from callmeback.errors import ApplicationError

logger = logging.getLogger(__name__)


class VoiceApiError(ApplicationError):
    code = "VOICE_API_ERROR"
    status_code = 500
    default_message = "The voice provider (ElevenLabs) could not be reached. Please try again later."


@dataclass(frozen=True)
class Voice:
    voice_id: str
    name: str
    category: str = "premade"
    labels: dict[str, str] = field(default_factory=dict)


class VoiceCatalogue(Protocol):
    def list_voices(self) -> list[Voice]: ...


def _premade(voice_id: str, name: str, gender: str, age: str, accent: str) -> Voice:
    return Voice(voice_id=voice_id, name=name, labels={"gender": gender, "age": age, "accent": accent})


# ElevenLabs' premade voices: the current default set, then the legacy voices (Rachel and
# friends) that older clients name, which the API lists with `show_legacy=true`.
PREMADE_VOICES: tuple[Voice, ...] = (
    _premade("EXAVITQu4vr4xnSDxMaL", "Sarah", "female", "young", "american"),
    _premade("CwhRBWXzGAHq8TQ4Fs17", "Roger", "male", "middle_aged", "american"),
    _premade("FGY2WhTYpPnrIDTdsKH5", "Laura", "female", "young", "american"),
    _premade("IKne3meq5aSn9XLyUdCD", "Charlie", "male", "young", "australian"),
    _premade("JBFqnCBsd6RMkjVDRZzb", "George", "male", "middle_aged", "british"),
    _premade("N2lVS1w4EtoT3dr4eOWO", "Callum", "male", "middle_aged", "american"),
    _premade("SAz9YHcvj6GT2YYXdXww", "River", "neutral", "middle_aged", "american"),
    _premade("SOYHLrjzK2X1ezoPC6cr", "Harry", "male", "young", "american"),
    _premade("TX3LPaxmHKxFdv7VOQHJ", "Liam", "male", "young", "american"),
    _premade("Xb7hH8MSUJpSbSDYk0k2", "Alice", "female", "middle_aged", "british"),
    _premade("XrExE9yKIg1WjnnlVkGX", "Matilda", "female", "middle_aged", "american"),
    _premade("bIHbv24MWmeRgasZH58o", "Will", "male", "young", "american"),
    _premade("cgSgspJ2msm6clMCkdW9", "Jessica", "female", "young", "american"),
    _premade("cjVigY5qzO86Huf0OWal", "Eric", "male", "middle_aged", "american"),
    _premade("hpp4J3VqNfWAUOO0d1Us", "Bella", "female", "middle_aged", "american"),
    _premade("iP95p4xoKVk53GoZ742B", "Chris", "male", "middle_aged", "american"),
    _premade("nPczCjzI2devNBz1zQrb", "Brian", "male", "middle_aged", "american"),
    _premade("onwK4e9ZLuTAKqWW03F9", "Daniel", "male", "middle_aged", "british"),
    _premade("pFZP5JQG7iQjIQuC4Bku", "Lily", "female", "middle_aged", "british"),
    _premade("pNInz6obpgDQGcFmaJgB", "Adam", "male", "middle_aged", "american"),
    _premade("pqHfZKP75CvOlQylNhV4", "Bill", "male", "old", "american"),
    _premade("21m00Tcm4TlvDq8ikWAM", "Rachel", "female", "young", "american"),
    _premade("AZnzlk1XvdvUeBnXmlld", "Domi", "female", "young", "american"),
    _premade("ErXwobaYiN019PkySvjV", "Antoni", "male", "young", "american"),
    _premade("MF3mGyEYCl7XYWbV9V6O", "Elli", "female", "young", "american"),
    _premade("TxGEqnHWrfWFTfGW9XjX", "Josh", "male", "young", "american"),
    _premade("VR6AewLTigWG4xSOukaG", "Arnold", "male", "middle_aged", "american"),
    _premade("yoZ06aMxZJJ28mfd3POQ", "Sam", "male", "young", "american"),
)


class PremadeVoices:
    """The local stand-in: ElevenLabs' premade voices, without a network call."""

    def list_voices(self) -> list[Voice]:
        return list(PREMADE_VOICES)


class ElevenLabsVoices:
    """`GET {base_url}/v1/voices` with the account's API key."""

    def __init__(self, *, api_key: str, base_url: str, timeout: float) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def list_voices(self) -> list[Voice]:
        try:
            response = requests.get(
                f"{self.base_url}/v1/voices",
                params={"show_legacy": "true"},
                headers={"xi-api-key": self.api_key, "Accept": "application/json"},
                timeout=self.timeout,
            )
            response.raise_for_status()
            return [_voice_from_api(item) for item in response.json()["voices"]]
        except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError) as error:
            # The message names the failure, never the key (it is only in a header).
            logger.warning("ElevenLabs voices request failed: %s", error)
            raise VoiceApiError() from error


def _voice_from_api(item: dict) -> Voice:
    labels = item.get("labels") or {}
    return Voice(
        voice_id=str(item["voice_id"]),
        name=str(item["name"]),
        category=str(item.get("category") or ""),
        labels={str(key): str(value) for key, value in labels.items() if isinstance(value, str)},
    )


def voice_catalogue() -> VoiceCatalogue:
    """ElevenLabs when `ELEVENLABS_API_KEY` is set, the premade catalogue otherwise."""
    if settings.ELEVENLABS_API_KEY:
        return ElevenLabsVoices(
            api_key=settings.ELEVENLABS_API_KEY,
            base_url=settings.ELEVENLABS_API_URL,
            timeout=settings.ELEVENLABS_TIMEOUT_SECONDS,
        )
    return PremadeVoices()
