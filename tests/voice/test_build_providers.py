"""Which providers a deployment gets: real adapters where credentials are set, local stand-ins otherwise."""

import logging

from voice.providers import build_providers
from voice.providers.deepgram import DeepgramStt
from voice.providers.elevenlabs import ElevenLabsTts
from voice.providers.local_stt import PocketSphinxStt
from voice.providers.local_tts import EspeakTts
from voice.providers.openai_llm import OpenAiLlm
from voice.providers.scripted_llm import ScriptedPersonaLlm


def test_without_credentials_every_provider_is_a_local_stand_in_and_logged_as_such(settings, caplog):
    settings.DEEPGRAM_API_KEY = settings.LLM_API_KEY = settings.LLM_BASE_URL = settings.ELEVENLABS_API_KEY = ""
    with caplog.at_level(logging.INFO, logger="voice.providers"):
        providers = build_providers()
    assert isinstance(providers.stt, PocketSphinxStt)
    assert isinstance(providers.llm, ScriptedPersonaLlm)
    assert isinstance(providers.tts, EspeakTts)
    assert providers.is_local == {"stt": True, "llm": True, "tts": True}
    assert sum("local stand-in" in record.getMessage() for record in caplog.records) == 3


def test_with_credentials_the_real_adapters_are_used(settings):
    settings.DEEPGRAM_API_KEY = "dg-key"
    settings.DEEPGRAM_MODEL = "flux-general-en"
    settings.LLM_API_KEY = "llm-key"
    settings.ELEVENLABS_API_KEY = "el-key"
    settings.ELEVENLABS_MODEL = "eleven_flash_v2_5"
    providers = build_providers()
    assert isinstance(providers.stt, DeepgramStt) and providers.stt.is_flux
    assert isinstance(providers.llm, OpenAiLlm)
    assert isinstance(providers.tts, ElevenLabsTts) and providers.tts.model == "eleven_flash_v2_5"
    assert providers.is_local == {"stt": False, "llm": False, "tts": False}


def test_a_base_url_alone_selects_a_keyless_local_model_server(settings):
    settings.LLM_API_KEY = ""
    settings.LLM_BASE_URL = "http://127.0.0.1:11434/v1"
    assert isinstance(build_providers().llm, OpenAiLlm)
