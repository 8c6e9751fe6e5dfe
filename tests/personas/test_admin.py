"""Django admin: admins edit any persona, system ones included, through the same rules."""

import pytest
from django.urls import reverse

from personas.models import Persona


@pytest.fixture
def admin_user(user_factory):
    return user_factory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


def change_form(persona: Persona, **overrides) -> dict:
    data = {
        "owner": str(persona.owner_id or ""),
        "name": persona.name,
        "description": persona.description,
        "voice": persona.voice,
        "system_prompt": persona.system_prompt,
        "greeting": persona.greeting,
        "tags": '["' + '", "'.join(persona.tags) + '"]',
        "is_public": "on" if persona.is_public else "",
        "voice_stability": persona.voice_stability,
        "voice_similarity": persona.voice_similarity,
        "voice_speed": persona.voice_speed,
        "llm_model": persona.llm_model,
        "llm_temperature": persona.llm_temperature,
    }
    return {**data, **overrides}


@pytest.mark.django_db
class TestPersonaAdmin:
    def test_changelist_filters_system_personas(self, admin):
        response = admin.get(reverse("admin:personas_persona_changelist"), {"kind": "system"})
        assert response.status_code == 200
        assert response.context["cl"].result_count == Persona.objects.filter(owner=None).count()

    def test_search_finds_by_tag(self, admin):
        response = admin.get(reverse("admin:personas_persona_changelist"), {"q": "wake-up"})
        assert "Wake-up Buddy" in {persona.name for persona in response.context["cl"].result_list}

    def test_admin_edits_a_system_persona_and_the_api_shows_it_at_once(self, admin, api_client):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        api_client.get("/api/personas", {"created_by": "system"})
        url = reverse("admin:personas_persona_change", args=[persona.pk])
        response = admin.post(url, change_form(persona, greeting="<b>Hiya</b> friend!", tags='["Friendly", "fun"]'))
        assert response.status_code == 302
        persona.refresh_from_db()
        assert persona.greeting == "Hiya friend!"
        assert persona.tags == ["friendly", "fun"]
        listed = api_client.get("/api/personas", {"created_by": "system", "search": "best friend"}).json()
        assert listed["personas"][0]["greeting"] == "Hiya friend!"

    def test_admin_form_applies_the_api_rules(self, admin):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        url = reverse("admin:personas_persona_change", args=[persona.pk])
        response = admin.post(url, change_form(persona, description="tiny", voice="nobody", tags='["x"]'))
        assert response.status_code == 200
        assert set(response.context["adminform"].form.errors) == {"description", "voice", "tags"}

    def test_admin_deletes_a_persona_and_the_list_forgets_it(self, admin, api_client, persona_factory):
        persona = persona_factory(is_public=True, name="Doomed")
        api_client.get("/api/personas", {"search": "doomed"})
        admin.post(reverse("admin:personas_persona_delete", args=[persona.pk]), {"post": "yes"})
        assert api_client.get("/api/personas", {"search": "doomed"}).json()["personas"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["contact", "scenariotemplate"])
def test_other_changelists_load(admin, contact_factory, scenario_factory, model):
    contact_factory()
    scenario_factory()
    assert admin.get(reverse(f"admin:personas_{model}_changelist")).status_code == 200
