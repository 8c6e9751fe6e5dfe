"""/api/scenario-templates (`001_*`): the same ownership, validation and sanitising as personas."""

import pytest

from personas.models import ScenarioTemplate
from tests.conftest import client_for

URL = "/api/scenario-templates"
SYSTEM_COUNT = 5


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def payload(**overrides) -> dict:
    return {
        "name": "Gym Reminder",
        "description": "A push to get to the gym before work.",
        "pretext": "You are calling to make sure they pack their gym bag and leave in ten minutes.",
        **overrides,
    }


@pytest.mark.django_db
class TestList:
    def test_requires_sign_in(self, api_client):
        assert error_of(api_client.get(URL)) == (401, "UNAUTHORIZED")

    def test_lists_system_public_and_my_own_scenarios(self, auth_client, user, other_user, scenario_factory):
        scenario_factory(owner=user, name="My Secret")
        scenario_factory(owner=other_user, name="Their Shared", is_public=True)
        scenario_factory(owner=other_user, name="Their Secret")
        body = auth_client.get(URL, {"limit": 100}).json()
        listed = [item["name"] for item in body["scenario_templates"]]
        assert listed[:SYSTEM_COUNT] == sorted(listed[:SYSTEM_COUNT], key=str.lower)
        assert {"Wake-up Call", "Interview Practice", "My Secret", "Their Shared"} <= set(listed)
        assert "Their Secret" not in listed
        assert body["pagination"]["total"] == SYSTEM_COUNT + 2

    def test_items_show_creator_and_suggested_persona(self, auth_client):
        items = {item["name"]: item for item in auth_client.get(URL).json()["scenario_templates"]}
        wake_up = items["Wake-up Call"]
        assert wake_up["created_by"] == "system"
        assert wake_up["suggested_persona"]["name"] == "Wake-up Buddy"
        assert "pretext" in wake_up

    def test_search_and_bad_search(self, auth_client):
        assert [
            item["name"] for item in auth_client.get(URL, {"search": "interview"}).json()["scenario_templates"]
        ] == ["Interview Practice"]
        assert error_of(auth_client.get(URL, {"search": "x"})) == (400, "VALIDATION_ERROR")

    def test_a_private_suggested_persona_is_hidden_from_others(
        self, user, other_user, persona_factory, scenario_factory
    ):
        private = persona_factory(owner=user)
        template = scenario_factory(owner=user, is_public=True, suggested_persona=private)
        mine = client_for(user).get(f"{URL}/{template.pk}").json()["scenario_template"]
        theirs = client_for(other_user).get(f"{URL}/{template.pk}").json()["scenario_template"]
        assert mine["suggested_persona"] == {"id": str(private.pk), "name": private.name}
        assert theirs["suggested_persona"] is None


@pytest.mark.django_db
class TestCreate:
    def test_creates_a_private_scenario(self, auth_client, user):
        response = auth_client.post(URL, payload(), format="json")
        assert response.status_code == 201
        body = response.json()["scenario_template"]
        assert (body["name"], body["is_public"], body["created_by"]) == ("Gym Reminder", False, str(user.pk))
        assert body["suggested_persona"] is None

    def test_suggests_a_persona_i_can_see(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user)
        response = auth_client.post(URL, payload(suggested_persona_id=str(persona.pk)), format="json")
        assert response.json()["scenario_template"]["suggested_persona"]["id"] == str(persona.pk)

    def test_cannot_suggest_an_invisible_persona(self, auth_client, other_user, persona_factory):
        persona = persona_factory(owner=other_user)
        response = auth_client.post(URL, payload(suggested_persona_id=str(persona.pk)), format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")
        assert response.json()["details"] == {"suggested_persona_id": ["Persona not found."]}

    def test_a_public_scenario_cannot_suggest_a_private_persona(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user)
        response = auth_client.post(URL, payload(is_public=True, suggested_persona_id=str(persona.pk)), format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")
        assert not ScenarioTemplate.objects.filter(name="Gym Reminder").exists()

    @pytest.mark.parametrize(
        ("field", "value"),
        [("name", "x"), ("description", "short"), ("pretext", "too short"), ("pretext", "x" * 1001)],
    )
    def test_invalid_fields_are_refused(self, auth_client, field, value):
        response = auth_client.post(URL, payload(**{field: value}), format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")
        assert field in response.json()["details"]

    def test_text_is_sanitised(self, auth_client):
        body = payload(pretext="<script>steal()</script>You are calling <b>to cheer</b> them on.")
        response = auth_client.post(URL, body, format="json")
        assert response.json()["scenario_template"]["pretext"] == "You are calling to cheer them on."

    def test_names_are_unique_per_owner(self, auth_client):
        auth_client.post(URL, payload(), format="json")
        assert error_of(auth_client.post(URL, payload(name="GYM reminder"), format="json")) == (
            400,
            "DUPLICATE_NAME",
        )


@pytest.mark.django_db
class TestChange:
    def test_owner_updates_and_clears_the_suggestion(self, auth_client, user, persona_factory, scenario_factory):
        template = scenario_factory(owner=user, suggested_persona=persona_factory(owner=user))
        response = auth_client.put(
            f"{URL}/{template.pk}", {"name": "Renamed Scenario", "suggested_persona_id": None}, format="json"
        )
        assert response.status_code == 200
        body = response.json()["scenario_template"]
        assert (body["name"], body["suggested_persona"]) == ("Renamed Scenario", None)

    def test_making_it_public_with_a_private_suggestion_is_refused(
        self, auth_client, user, persona_factory, scenario_factory
    ):
        template = scenario_factory(owner=user, suggested_persona=persona_factory(owner=user))
        response = auth_client.put(f"{URL}/{template.pk}", {"is_public": True}, format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")

    def test_system_scenarios_are_read_only(self, auth_client):
        template = ScenarioTemplate.objects.get(name="Wake-up Call", owner=None)
        assert error_of(auth_client.put(f"{URL}/{template.pk}", {"name": "Mine"}, format="json")) == (
            403,
            "FORBIDDEN",
        )
        assert error_of(auth_client.delete(f"{URL}/{template.pk}")) == (403, "FORBIDDEN")

    def test_someone_elses_public_scenario_is_forbidden(self, auth_client, other_user, scenario_factory):
        template = scenario_factory(owner=other_user, is_public=True)
        assert error_of(auth_client.put(f"{URL}/{template.pk}", {}, format="json")) == (403, "FORBIDDEN")
        assert error_of(auth_client.delete(f"{URL}/{template.pk}")) == (403, "FORBIDDEN")

    def test_someone_elses_private_scenario_is_not_found(self, auth_client, other_user, scenario_factory):
        template = scenario_factory(owner=other_user)
        assert error_of(auth_client.get(f"{URL}/{template.pk}")) == (404, "NOT_FOUND")
        assert error_of(auth_client.put(f"{URL}/{template.pk}", {}, format="json")) == (404, "NOT_FOUND")
        assert error_of(auth_client.delete(f"{URL}/{template.pk}")) == (404, "NOT_FOUND")

    def test_owner_deletes(self, auth_client, user, scenario_factory):
        template = scenario_factory(owner=user)
        response = auth_client.delete(f"{URL}/{template.pk}")
        assert response.json() == {"message": "Scenario template deleted successfully"}
        assert not ScenarioTemplate.objects.filter(pk=template.pk).exists()

    def test_deleting_the_suggested_persona_keeps_the_scenario(
        self, auth_client, user, persona_factory, scenario_factory
    ):
        persona = persona_factory(owner=user)
        template = scenario_factory(owner=user, suggested_persona=persona)
        auth_client.delete(f"/api/personas/{persona.pk}")
        template.refresh_from_db()
        assert template.suggested_persona is None
