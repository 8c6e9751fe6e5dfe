"""POST /api/personas, PUT and DELETE /api/personas/:id (`000_*` §3.2-3.4)."""

import pytest

from accounts.models import User
from personas import services
from personas.models import Contact, Persona
from tests.conftest import client_for
from tests.personas.factories import ADAM, RACHEL

URL = "/api/personas"


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


@pytest.mark.django_db
class TestCreate:
    def test_creates_a_persona_owned_by_the_user(self, auth_client, user, persona_payload):
        response = auth_client.post(URL, persona_payload(), format="json")
        assert response.status_code == 201
        persona = response.json()["persona"]
        assert persona["name"] == "Night Owl"
        assert persona["created_by"] == str(user.pk)
        assert persona["voice"] == RACHEL
        assert persona["tags"] == ["calm", "night"]
        assert persona["is_public"] is False
        assert Persona.objects.get(pk=persona["id"]).owner == user

    def test_optional_call_settings_are_stored(self, auth_client, persona_payload):
        body = persona_payload(
            greeting="Hello, night owl here.",
            voice_stability=0.3,
            voice_similarity=0.9,
            voice_speed=1.15,
            llm_model="gpt-4o-mini",
            llm_temperature=1.2,
        )
        persona = Persona.objects.get(pk=auth_client.post(URL, body, format="json").json()["persona"]["id"])
        assert persona.opening_line == "Hello, night owl here."
        assert (persona.voice_stability, persona.voice_similarity, persona.voice_speed) == (0.3, 0.9, 1.15)
        assert (persona.llm_model, persona.llm_temperature) == ("gpt-4o-mini", 1.2)

    def test_voice_can_be_given_by_id(self, auth_client, persona_payload):
        response = auth_client.post(URL, persona_payload(voice=ADAM), format="json")
        assert response.json()["persona"]["voice"] == ADAM

    def test_anonymous_cannot_create(self, api_client, persona_payload):
        response = api_client.post(URL, persona_payload(), format="json")
        assert error_of(response) == (401, "UNAUTHORIZED")

    def test_missing_fields_are_all_reported(self, auth_client):
        response = auth_client.post(URL, {}, format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")
        assert set(response.json()["details"]) == {"name", "description", "voice", "system_prompt"}

    def test_malformed_json_is_a_validation_error(self, auth_client):
        response = auth_client.post(URL, "{not json", content_type="application/json")
        assert error_of(response) == (400, "VALIDATION_ERROR")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", "ab"),
            ("name", "x" * 51),
            ("name", "Robo_Cop!"),
            ("description", "too short"),
            ("description", "x" * 501),
            ("system_prompt", "Be nice."),
            ("system_prompt", "x" * 2001),
            ("voice", "nobody"),
            ("tags", ["ok", "x"]),
            ("tags", ["has space"]),
            ("tags", ["under_score"]),
            ("tags", ["t" * 31]),
            ("tags", [f"tag{n}" for n in range(11)]),
            ("tags", "calm"),
            ("greeting", "x" * 301),
            ("voice_stability", 1.5),
            ("voice_similarity", -0.1),
            ("voice_speed", 2),
            ("llm_temperature", 3),
            ("llm_model", "gpt 4; rm -rf"),
            ("is_public", "perhaps"),
        ],
    )
    def test_invalid_field_is_a_validation_error_and_nothing_is_saved(self, auth_client, persona_payload, field, value):
        before = Persona.objects.count()
        response = auth_client.post(URL, persona_payload(**{field: value}), format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")
        assert field in response.json()["details"]
        assert response.json()["message"]
        assert Persona.objects.count() == before

    def test_tags_are_lowercased_and_deduplicated(self, auth_client, persona_payload):
        response = auth_client.post(URL, persona_payload(tags=["Calm", "calm", " Night-Owl "]), format="json")
        assert response.json()["persona"]["tags"] == ["calm", "night-owl"]

    def test_name_is_unique_per_owner_regardless_of_case(self, auth_client, persona_payload):
        auth_client.post(URL, persona_payload(name="Night Owl"), format="json")
        response = auth_client.post(URL, persona_payload(name="night owl"), format="json")
        assert error_of(response) == (400, "DUPLICATE_NAME")
        assert Persona.objects.filter(name__iexact="night owl").count() == 1

    def test_another_user_and_the_system_may_use_the_same_name(self, other_user, persona_factory, persona_payload):
        persona_factory(name="Night Owl")
        response = client_for(other_user).post(URL, persona_payload(name="Best Friend"), format="json")
        assert response.status_code == 201
        assert client_for(other_user).post(URL, persona_payload(name="Night Owl"), format="json").status_code == 201

    def test_free_users_may_have_10_custom_personas(self, auth_client, user, persona_factory, persona_payload):
        persona_factory.create_batch(10, owner=user)
        response = auth_client.post(URL, persona_payload(), format="json")
        assert error_of(response) == (429, "MAX_PERSONAS")
        assert response.json()["details"] == {"limit": 10}
        assert Persona.objects.filter(owner=user).count() == 10

    def test_premium_users_may_have_50_custom_personas(self, premium_user, persona_factory, persona_payload):
        client = client_for(premium_user)
        persona_factory.create_batch(49, owner=premium_user)
        assert client.post(URL, persona_payload(name="Number Fifty"), format="json").status_code == 201
        response = client.post(URL, persona_payload(name="Number Fifty-One"), format="json")
        assert error_of(response) == (429, "MAX_PERSONAS")
        assert response.json()["details"] == {"limit": 50}

    def test_post_limit_is_20_per_hour(self, premium_user, persona_payload):
        client = client_for(premium_user)
        for n in range(20):
            response = client.post(URL, persona_payload(name=f"Persona {n}"), format="json")
            assert response.status_code == 201
        assert response["X-RateLimit-Limit"] == "20"
        response = client.post(URL, persona_payload(name="One Too Many"), format="json")
        assert error_of(response) == (429, "RATE_LIMIT_EXCEEDED")


@pytest.mark.django_db
class TestSanitising:
    def test_markup_is_stripped_and_plain_text_kept(self, auth_client, persona_payload):
        body = persona_payload(
            name="<b>Safe</b> Sam",
            description="<script>alert('x')</script>Hi <i>there</i>, I <3 tea & cake",
            system_prompt='<img src=x onerror="alert(1)">You are a careful persona who speaks plainly.',
            greeting="&lt;script&gt;alert(1)&lt;/script&gt;Hello!",
        )
        persona = auth_client.post(URL, body, format="json").json()["persona"]
        assert persona["name"] == "Safe Sam"
        assert persona["description"] == "Hi there, I <3 tea & cake"
        assert persona["system_prompt"] == "You are a careful persona who speaks plainly."
        assert persona["greeting"] == "Hello!"

    def test_text_that_is_only_markup_is_empty_and_refused(self, auth_client, persona_payload):
        response = auth_client.post(URL, persona_payload(description="<script>alert(1)</script>"), format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")
        assert response.json()["details"]["description"] == ["Description is required."]

    def test_deeply_entity_encoded_markup_is_refused(self, auth_client, persona_payload):
        nested = "&" + "amp;" * 6 + "lt;script&gt;alert(1)"
        response = auth_client.post(URL, persona_payload(description=f"Nice persona {nested}"), format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")


@pytest.mark.django_db
class TestUpdate:
    def test_owner_updates_only_the_given_fields(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user, name="Before", tags=["calm"])
        response = auth_client.put(f"{URL}/{persona.pk}", {"name": "After", "voice": "adam"}, format="json")
        assert response.status_code == 200
        body = response.json()["persona"]
        assert (body["name"], body["voice"], body["tags"]) == ("After", ADAM, ["calm"])
        persona.refresh_from_db()
        assert persona.name == "After"
        assert persona.description == "A persona made for the tests, friendly and brief."

    def test_an_empty_body_changes_nothing(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user)
        response = auth_client.put(f"{URL}/{persona.pk}", {}, format="json")
        assert response.status_code == 200
        assert response.json()["persona"]["name"] == persona.name

    def test_invalid_update_changes_nothing(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user, name="Keep Me")
        response = auth_client.put(f"{URL}/{persona.pk}", {"name": "Fine Name", "description": "short"}, format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")
        persona.refresh_from_db()
        assert persona.name == "Keep Me"

    def test_renaming_onto_another_of_my_personas_is_a_duplicate(self, auth_client, user, persona_factory):
        persona_factory(owner=user, name="Taken")
        persona = persona_factory(owner=user, name="Free")
        response = auth_client.put(f"{URL}/{persona.pk}", {"name": "TAKEN"}, format="json")
        assert error_of(response) == (400, "DUPLICATE_NAME")

    def test_changing_only_the_case_of_my_own_name_is_allowed(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user, name="night owl")
        response = auth_client.put(f"{URL}/{persona.pk}", {"name": "Night Owl"}, format="json")
        assert response.json()["persona"]["name"] == "Night Owl"

    def test_system_persona_cannot_be_edited(self, auth_client):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        response = auth_client.put(f"{URL}/{persona.pk}", {"name": "Worst Friend"}, format="json")
        assert error_of(response) == (403, "FORBIDDEN")
        persona.refresh_from_db()
        assert persona.name == "Best Friend"

    def test_someone_elses_public_persona_is_forbidden(self, auth_client, other_user, persona_factory):
        persona = persona_factory(owner=other_user, is_public=True)
        response = auth_client.put(f"{URL}/{persona.pk}", {"name": "Mine Now"}, format="json")
        assert error_of(response) == (403, "FORBIDDEN")

    def test_someone_elses_private_persona_is_not_found(self, auth_client, other_user, persona_factory):
        persona = persona_factory(owner=other_user)
        response = auth_client.put(f"{URL}/{persona.pk}", {"name": "Mine Now"}, format="json")
        assert error_of(response) == (404, "NOT_FOUND")

    def test_missing_persona_is_not_found(self, auth_client):
        response = auth_client.put(f"{URL}/7d0e8d55-1111-4a2f-9d43-000000000000", {"name": "Whoever"}, format="json")
        assert error_of(response) == (404, "NOT_FOUND")

    def test_anonymous_cannot_update(self, api_client, persona_factory):
        persona = persona_factory(is_public=True)
        assert error_of(api_client.put(f"{URL}/{persona.pk}", {"name": "Hacked"}, format="json")) == (
            401,
            "UNAUTHORIZED",
        )

    def test_making_a_persona_private_removes_it_from_other_users_contacts(
        self, auth_client, user, other_user, persona_factory, contact_factory
    ):
        persona = persona_factory(owner=user, is_public=True)
        contact_factory(user=other_user, persona=persona)
        contact_factory(user=user, persona=persona)
        auth_client.put(f"{URL}/{persona.pk}", {"is_public": False}, format="json")
        assert list(Contact.objects.filter(persona=persona).values_list("user", flat=True)) == [user.pk]

    def test_put_limit_is_30_per_hour(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user)
        assert auth_client.put(f"{URL}/{persona.pk}", {}, format="json")["X-RateLimit-Limit"] == "30"


@pytest.mark.django_db
class TestDelete:
    def test_owner_deletes_and_it_leaves_every_contact_list(
        self, auth_client, user, other_user, persona_factory, contact_factory
    ):
        persona = persona_factory(owner=user, is_public=True)
        contact_factory(user=other_user, persona=persona)
        response = auth_client.delete(f"{URL}/{persona.pk}")
        assert response.status_code == 200
        assert response.json() == {"message": "Persona deleted successfully"}
        assert response["X-RateLimit-Limit"] == "20"
        assert not Persona.objects.filter(pk=persona.pk).exists()
        assert not Contact.objects.filter(persona_id=persona.pk).exists()

    def test_system_persona_cannot_be_deleted(self, auth_client):
        persona = Persona.objects.get(name="Wise Grandparent", owner=None)
        assert error_of(auth_client.delete(f"{URL}/{persona.pk}")) == (403, "FORBIDDEN")
        assert Persona.objects.filter(pk=persona.pk).exists()

    def test_someone_elses_public_persona_is_forbidden(self, auth_client, other_user, persona_factory):
        persona = persona_factory(owner=other_user, is_public=True)
        assert error_of(auth_client.delete(f"{URL}/{persona.pk}")) == (403, "FORBIDDEN")

    def test_someone_elses_private_persona_is_not_found(self, auth_client, other_user, persona_factory):
        persona = persona_factory(owner=other_user)
        assert error_of(auth_client.delete(f"{URL}/{persona.pk}")) == (404, "NOT_FOUND")
        assert Persona.objects.filter(pk=persona.pk).exists()

    def test_missing_persona_is_not_found(self, auth_client):
        assert error_of(auth_client.delete(f"{URL}/7d0e8d55-1111-4a2f-9d43-000000000000")) == (404, "NOT_FOUND")


@pytest.mark.django_db
def test_record_use_adds_one_to_use_count_once_the_transaction_commits(
    persona_factory, django_capture_on_commit_callbacks
):
    persona = persona_factory()
    stale_copy = Persona.objects.get(pk=persona.pk)
    with django_capture_on_commit_callbacks() as counts:
        services.persona_record_use(persona=persona)
        services.persona_record_use(persona=stale_copy)
    assert Persona.objects.get(pk=persona.pk).use_count == 0

    for count in counts:
        count()

    assert Persona.objects.get(pk=persona.pk).use_count == 2


@pytest.mark.django_db
def test_plan_limits_follow_the_users_plan(user_factory):
    assert services.persona_limit(user=user_factory(plan=User.Plan.FREE)) == 10
    assert services.persona_limit(user=user_factory(plan=User.Plan.PREMIUM)) == 50
