"""Fixtures for the personas tests: factories, a premium user, the ElevenLabs fake."""

import pytest

from accounts.models import User
from tests.fakes.elevenlabs import API_KEY, FakeElevenLabs
from tests.personas.factories import ContactFactory, PersonaFactory, ScenarioTemplateFactory


@pytest.fixture(autouse=True)
def _premade_voices(settings):
    """Tests never reach the real ElevenLabs: without a key the built-in catalogue is used."""
    settings.ELEVENLABS_API_KEY = ""


@pytest.fixture
def persona_factory(db):
    return PersonaFactory


@pytest.fixture
def contact_factory(db):
    return ContactFactory


@pytest.fixture
def scenario_factory(db):
    return ScenarioTemplateFactory


@pytest.fixture
def other_user(user_factory):
    return user_factory()


@pytest.fixture
def premium_user(user_factory):
    return user_factory(plan=User.Plan.PREMIUM)


@pytest.fixture
def elevenlabs(settings):
    """The loopback ElevenLabs, wired in through the settings the gateway reads."""
    fake = FakeElevenLabs().start()
    settings.ELEVENLABS_API_KEY = API_KEY
    settings.ELEVENLABS_API_URL = fake.url
    settings.ELEVENLABS_TIMEOUT_SECONDS = 2
    yield fake
    fake.stop()


@pytest.fixture
def persona_payload():
    """A valid POST /api/personas body, with overrides."""

    def make(**overrides) -> dict:
        return {
            "name": "Night Owl",
            "description": "A late-night companion for people who cannot sleep.",
            "voice": "rachel",
            "system_prompt": "You are a calm night owl who chats softly with insomniacs.",
            "is_public": False,
            "tags": ["calm", "night"],
            **overrides,
        }

    return make
