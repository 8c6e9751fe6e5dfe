"""GET /api/voices and the voice check on personas, against the built-in catalogue and
the real ElevenLabs gateway talking to a loopback fake."""

import pytest

from personas.gateways import PREMADE_VOICES, ElevenLabsVoices, VoiceApiError
from personas.models import Persona
from tests.fakes.elevenlabs import API_KEY

URL = "/api/voices"


@pytest.mark.django_db
class TestWithoutAnApiKey:
    def test_lists_the_premade_voices(self, api_client):
        response = api_client.get(URL)
        assert response.status_code == 200
        voices = {voice["name"]: voice for voice in response.json()["voices"]}
        assert len(voices) == len(PREMADE_VOICES)
        assert voices["Rachel"] == {
            "voice_id": "21m00Tcm4TlvDq8ikWAM",
            "name": "Rachel",
            "category": "premade",
            "labels": {"gender": "female", "age": "young", "accent": "american"},
        }
        assert response["X-RateLimit-Limit"] == "60"

    def test_a_persona_voice_must_be_in_the_catalogue(self, auth_client, persona_payload):
        response = auth_client.post("/api/personas", persona_payload(voice="cloned-voice-0001"), format="json")
        assert response.status_code == 400
        assert response.json()["details"]["voice"] == ["Unknown voice. Choose a voice id or name from GET /api/voices."]


@pytest.mark.django_db
class TestWithElevenLabs:
    def test_lists_the_accounts_voices_with_the_api_key(self, api_client, elevenlabs):
        response = api_client.get(URL)
        assert response.status_code == 200
        assert [voice["voice_id"] for voice in response.json()["voices"]] == [
            "21m00Tcm4TlvDq8ikWAM",
            "cloned-voice-0001",
        ]
        request = elevenlabs.requests[0]
        assert request.path == "/v1/voices"
        assert request.api_key == API_KEY
        assert request.query == {"show_legacy": ["true"]}

    def test_the_voice_list_is_cached(self, api_client, elevenlabs):
        api_client.get(URL)
        api_client.get(URL)
        assert len(elevenlabs.requests) == 1

    def test_a_persona_may_use_an_account_voice(self, auth_client, persona_payload, elevenlabs):
        response = auth_client.post("/api/personas", persona_payload(voice="cloned-voice-0001"), format="json")
        assert response.status_code == 201
        assert response.json()["persona"]["voice"] == "cloned-voice-0001"

    def test_a_persona_voice_missing_from_the_account_is_refused(self, auth_client, persona_payload, elevenlabs):
        response = auth_client.post("/api/personas", persona_payload(voice="adam"), format="json")
        assert response.status_code == 400
        assert "voice" in response.json()["details"]

    @pytest.mark.parametrize("mode", ["error", "garbage"])
    def test_provider_failure_is_voice_api_error(self, api_client, elevenlabs, mode):
        elevenlabs.mode = mode
        response = api_client.get(URL)
        assert response.status_code == 500
        assert response.json()["error"] == "VOICE_API_ERROR"

    def test_a_failure_is_not_cached(self, api_client, elevenlabs):
        elevenlabs.mode = "error"
        assert api_client.get(URL).status_code == 500
        elevenlabs.mode = "ok"
        assert api_client.get(URL).status_code == 200

    def test_a_rejected_api_key_is_voice_api_error(self, api_client, elevenlabs, settings):
        settings.ELEVENLABS_API_KEY = "wrong-key"
        assert api_client.get(URL).json()["error"] == "VOICE_API_ERROR"

    def test_creating_a_persona_while_elevenlabs_fails_saves_nothing(self, auth_client, persona_payload, elevenlabs):
        elevenlabs.mode = "error"
        before = Persona.objects.count()
        response = auth_client.post("/api/personas", persona_payload(), format="json")
        assert (response.status_code, response.json()["error"]) == (500, "VOICE_API_ERROR")
        assert Persona.objects.count() == before

    def test_updating_other_fields_does_not_need_elevenlabs(self, auth_client, user, persona_factory, elevenlabs):
        persona = persona_factory(owner=user)
        elevenlabs.mode = "error"
        response = auth_client.put(
            f"/api/personas/{persona.pk}", {"name": "Still Works", "voice": persona.voice}, format="json"
        )
        assert response.status_code == 200
        assert elevenlabs.requests == []


class TestGateway:
    def test_a_timeout_is_voice_api_error(self, elevenlabs):
        elevenlabs.mode = "hang"
        gateway = ElevenLabsVoices(api_key=API_KEY, base_url=elevenlabs.url, timeout=0.2)
        with pytest.raises(VoiceApiError):
            gateway.list_voices()

    def test_an_unreachable_server_is_voice_api_error(self, elevenlabs):
        url = elevenlabs.url
        elevenlabs.stop()
        with pytest.raises(VoiceApiError):
            ElevenLabsVoices(api_key=API_KEY, base_url=url, timeout=1).list_voices()

    def test_unexpected_json_is_voice_api_error(self, elevenlabs):
        elevenlabs.voices = [{"name": "No id"}]
        with pytest.raises(VoiceApiError):
            ElevenLabsVoices(api_key=API_KEY, base_url=elevenlabs.url, timeout=1).list_voices()
