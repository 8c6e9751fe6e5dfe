"""Storing what the voice providers did for a call, priced from the settings, when its stream ends."""

from decimal import Decimal

import pytest

from calls.models import Call, CallUsage
from tests.factories import UserFactory
from tests.personas.factories import PersonaFactory
from voice.engine.metrics import ProviderUsage
from voice.providers import build_providers
from voice.services import call_usage_record


@pytest.fixture
def call(db) -> Call:
    user = UserFactory()
    persona = PersonaFactory()
    return Call.objects.create(user=user, persona=persona, persona_name=persona.name, phone_number=user.phone)


@pytest.fixture
def real_providers(settings):
    settings.DEEPGRAM_API_KEY, settings.DEEPGRAM_MODEL = "dg-key", "nova-3"
    settings.LLM_API_KEY = "llm-key"
    settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_MODEL = "el-key", "eleven_flash_v2_5"
    settings.DEEPGRAM_PRICE_PER_MINUTE = Decimal("0.01")
    settings.LLM_PRICE_PER_MILLION_INPUT_TOKENS = Decimal("1.00")
    settings.LLM_PRICE_PER_MILLION_OUTPUT_TOKENS = Decimal("2.00")
    settings.ELEVENLABS_PRICE_PER_THOUSAND_CHARACTERS = Decimal("0.10")
    return build_providers()


def stored(call: Call) -> dict[str, tuple]:
    return {
        row.unit: (row.kind, row.provider, row.quantity, row.unreported, row.cost)
        for row in CallUsage.objects.filter(call=call)
    }


def test_each_provider_gets_a_row_priced_at_the_configured_rates(call, real_providers):
    usage = ProviderUsage(
        stt_audio_bytes=90 * 8000,
        llm_requests=2,
        llm_reported=2,
        llm_input_tokens=1500,
        llm_output_tokens=250,
        tts_characters=1200,
    )

    call_usage_record(call_id=str(call.pk), usage=usage, providers=real_providers, llm_model="gpt-4o-mini")

    assert stored(call) == {
        "seconds": ("stt", "deepgram nova-3", Decimal("90.000"), 0, Decimal("0.015000")),
        "input_tokens": ("llm", "gpt-4o-mini", Decimal("1500.000"), 0, Decimal("0.001500")),
        "output_tokens": ("llm", "gpt-4o-mini", Decimal("250.000"), 0, Decimal("0.000500")),
        "characters": ("tts", "elevenlabs eleven_flash_v2_5", Decimal("1200.000"), 0, Decimal("0.120000")),
    }


def test_tokens_no_request_reported_are_unknown_and_so_is_their_cost(call, real_providers):
    usage = ProviderUsage(stt_audio_bytes=8000, llm_requests=3, llm_reported=0, tts_characters=10)

    call_usage_record(call_id=str(call.pk), usage=usage, providers=real_providers, llm_model="gpt-4o-mini")

    rows = stored(call)
    assert rows["input_tokens"] == ("llm", "gpt-4o-mini", None, 3, None)
    assert rows["output_tokens"] == ("llm", "gpt-4o-mini", None, 3, None)


def test_requests_cut_off_before_their_usage_are_counted_beside_the_reported_tokens(call, real_providers):
    usage = ProviderUsage(llm_requests=3, llm_reported=2, llm_input_tokens=1000, llm_output_tokens=40)

    call_usage_record(call_id=str(call.pk), usage=usage, providers=real_providers, llm_model="gpt-4o-mini")

    rows = stored(call)
    assert rows["input_tokens"] == ("llm", "gpt-4o-mini", Decimal("1000.000"), 1, Decimal("0.001000"))
    assert rows["output_tokens"] == ("llm", "gpt-4o-mini", Decimal("40.000"), 1, Decimal("0.000080"))


def test_the_local_stand_ins_cost_nothing(call, settings):
    settings.DEEPGRAM_API_KEY = settings.LLM_API_KEY = settings.LLM_BASE_URL = settings.ELEVENLABS_API_KEY = ""
    usage = ProviderUsage(stt_audio_bytes=60 * 8000, llm_requests=2, tts_characters=500)

    call_usage_record(call_id=str(call.pk), usage=usage, providers=build_providers(), llm_model="gpt-4o-mini")

    assert stored(call) == {
        "seconds": ("stt", "pocketsphinx (local)", Decimal("60.000"), 0, Decimal(0)),
        "input_tokens": ("llm", "scripted persona (local)", None, 0, Decimal(0)),
        "output_tokens": ("llm", "scripted persona (local)", None, 0, Decimal(0)),
        "characters": ("tts", "espeak-ng (local)", Decimal("500.000"), 0, Decimal(0)),
    }
