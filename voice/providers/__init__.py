"""The speech-to-text, language-model and text-to-speech providers of live calls.

`build_providers()` picks, from the settings, the real adapter for each kind whose
credentials are set and the local stand-in otherwise. Build them once per process and
share them between calls: they hold the connection pools; streams and sessions are per call.

Django is imported only inside `build_providers`, so `voice.providers.base` and the
adapters stay importable by the plain-asyncio engine and its tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .base import LanguageModel, SpeechToText, TextToSpeech

logger = logging.getLogger(__name__)


@dataclass
class Providers:
    stt: SpeechToText
    llm: LanguageModel
    tts: TextToSpeech
    is_local: dict[str, bool] = field(default_factory=dict)  # {"stt": ..., "llm": ..., "tts": ...}

    async def aclose(self) -> None:
        """Closes the shared HTTP sessions (tests and management commands that end their loop)."""
        for provider in (self.stt, self.llm, self.tts):
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()


def build_providers() -> Providers:
    from django.conf import settings

    from .deepgram import DeepgramStt
    from .elevenlabs import ElevenLabsTts
    from .http import SharedSession
    from .local_stt import PocketSphinxStt
    from .local_tts import EspeakTts
    from .openai_llm import OpenAiLlm
    from .scripted_llm import ScriptedPersonaLlm

    session = SharedSession(timeout_seconds=settings.ELEVENLABS_TIMEOUT_SECONDS)
    if settings.DEEPGRAM_API_KEY:
        stt = DeepgramStt(
            api_key=settings.DEEPGRAM_API_KEY,
            api_url=settings.DEEPGRAM_API_URL,
            model=settings.DEEPGRAM_MODEL,
            session=session,
        )
    else:
        stt = PocketSphinxStt()
    if settings.LLM_API_KEY or settings.LLM_BASE_URL:
        llm = OpenAiLlm(base_url=settings.LLM_BASE_URL, api_key=settings.LLM_API_KEY)
    else:
        llm = ScriptedPersonaLlm()
    if settings.ELEVENLABS_API_KEY:
        tts = ElevenLabsTts(
            api_key=settings.ELEVENLABS_API_KEY,
            api_url=settings.ELEVENLABS_API_URL,
            model=settings.ELEVENLABS_MODEL,
            session=session,
        )
    else:
        tts = EspeakTts()
    providers = Providers(
        stt=stt,
        llm=llm,
        tts=tts,
        is_local={
            "stt": isinstance(stt, PocketSphinxStt),
            "llm": isinstance(llm, ScriptedPersonaLlm),
            "tts": isinstance(tts, EspeakTts),
        },
    )
    for kind, provider in (("stt", stt), ("llm", llm), ("tts", tts)):
        if providers.is_local[kind]:
            logger.info("Voice %s: local stand-in %s (no provider credentials set)", kind, provider.label)
        else:
            logger.info("Voice %s: %s", kind, provider.label)
    return providers
