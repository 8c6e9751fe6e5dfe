"""GET/POST /api/contacts and DELETE /api/contacts/:personaId (`000_*` §4)."""

import pytest
from django.db import IntegrityError

from personas.models import Contact, Persona
from tests.conftest import client_for

URL = "/api/contacts"


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


@pytest.mark.django_db
class TestAdd:
    def test_adds_a_public_persona(self, auth_client, user, persona_factory):
        persona = persona_factory(is_public=True)
        response = auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json")
        assert response.status_code == 201
        contact = response.json()["contact"]
        assert set(contact) == {"id", "persona_id", "added_at"}
        assert contact["persona_id"] == str(persona.pk)
        assert Contact.objects.filter(user=user, persona=persona).exists()
        assert response["X-RateLimit-Limit"] == "30"

    def test_adds_my_own_private_persona(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user)
        assert auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json").status_code == 201

    def test_adds_a_system_persona(self, auth_client):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        assert auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json").status_code == 201

    def test_someone_elses_private_persona_is_not_found(self, auth_client, other_user, persona_factory):
        persona = persona_factory(owner=other_user)
        response = auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json")
        assert error_of(response) == (404, "NOT_FOUND")
        assert not Contact.objects.exists()

    def test_missing_persona_is_not_found(self, auth_client):
        response = auth_client.post(URL, {"persona_id": "7d0e8d55-1111-4a2f-9d43-000000000000"}, format="json")
        assert error_of(response) == (404, "NOT_FOUND")

    @pytest.mark.parametrize("body", [{}, {"persona_id": "nope"}, {"persona_id": None}])
    def test_bad_persona_id_is_a_validation_error(self, auth_client, body):
        response = auth_client.post(URL, body, format="json")
        assert error_of(response) == (400, "VALIDATION_ERROR")
        assert "persona_id" in response.json()["details"]

    def test_adding_twice_is_already_exists(self, auth_client, user, persona_factory):
        persona = persona_factory(is_public=True)
        auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json")
        response = auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json")
        assert error_of(response) == (400, "ALREADY_EXISTS")
        assert Contact.objects.filter(user=user).count() == 1

    def test_at_most_50_contacts(self, auth_client, user, persona_factory, contact_factory):
        contact_factory.create_batch(50, user=user)
        persona = persona_factory(is_public=True)
        response = auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json")
        assert error_of(response) == (429, "MAX_CONTACTS")
        assert response.json()["details"] == {"limit": 50}
        assert Contact.objects.filter(user=user).count() == 50

    def test_anonymous_cannot_add(self, api_client, persona_factory):
        persona = persona_factory(is_public=True)
        assert error_of(api_client.post(URL, {"persona_id": str(persona.pk)}, format="json")) == (401, "UNAUTHORIZED")


@pytest.mark.django_db
def test_user_and_persona_are_unique_in_the_database(contact_factory):
    contact = contact_factory()
    with pytest.raises(IntegrityError):
        Contact.objects.create(user=contact.user, persona=contact.persona)


@pytest.mark.django_db
class TestList:
    def test_lists_only_my_contacts_newest_first_with_full_personas(
        self, auth_client, user, other_user, persona_factory
    ):
        older, newer = persona_factory(is_public=True, name="Older"), persona_factory(is_public=True, name="Newer")
        for persona in (older, newer):
            auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json")
        client_for(other_user).post(URL, {"persona_id": str(older.pk)}, format="json")
        response = auth_client.get(URL)
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "60"
        contacts = response.json()["contacts"]
        assert [contact["persona"]["name"] for contact in contacts] == ["Newer", "Older"]
        first = contacts[0]
        assert set(first) == {"id", "persona_id", "persona", "added_at"}
        assert first["persona_id"] == first["persona"]["id"] == str(newer.pk)
        assert first["persona"]["system_prompt"] == newer.system_prompt
        assert first["persona"]["created_by"] == str(newer.owner_id)

    def test_anonymous_cannot_list(self, api_client):
        assert error_of(api_client.get(URL)) == (401, "UNAUTHORIZED")

    def test_list_is_cached_and_refreshed_by_every_write(self, auth_client, user, persona_factory):
        persona = persona_factory(owner=user, is_public=True, name="Cached Pal")
        assert auth_client.get(URL).json()["contacts"] == []
        auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json")
        assert [c["persona"]["name"] for c in auth_client.get(URL).json()["contacts"]] == ["Cached Pal"]
        auth_client.put(f"/api/personas/{persona.pk}", {"name": "Renamed Pal"}, format="json")
        assert [c["persona"]["name"] for c in auth_client.get(URL).json()["contacts"]] == ["Renamed Pal"]
        auth_client.delete(f"{URL}/{persona.pk}")
        assert auth_client.get(URL).json()["contacts"] == []

    def test_a_repeated_list_is_served_from_the_cache(
        self, auth_client, contact_factory, user, django_assert_num_queries
    ):
        contact_factory(user=user)
        auth_client.get(URL)
        with django_assert_num_queries(1):  # only the token's user, with its revocation check
            assert len(auth_client.get(URL).json()["contacts"]) == 1

    def test_deleted_persona_leaves_my_contacts(self, auth_client, user, other_user, persona_factory):
        persona = persona_factory(owner=other_user, is_public=True)
        auth_client.post(URL, {"persona_id": str(persona.pk)}, format="json")
        auth_client.get(URL)
        client_for(other_user).delete(f"/api/personas/{persona.pk}")
        assert auth_client.get(URL).json()["contacts"] == []


@pytest.mark.django_db
class TestRemove:
    def test_removes_a_contact(self, auth_client, user, contact_factory):
        contact = contact_factory(user=user)
        response = auth_client.delete(f"{URL}/{contact.persona_id}")
        assert response.status_code == 200
        assert response.json() == {"message": "Removed from contacts"}
        assert not Contact.objects.filter(pk=contact.pk).exists()

    def test_removing_a_persona_that_is_not_a_contact_is_not_found(self, auth_client, other_user, contact_factory):
        someone_elses = contact_factory(user=other_user)
        assert error_of(auth_client.delete(f"{URL}/{someone_elses.persona_id}")) == (404, "NOT_FOUND")
        assert error_of(auth_client.delete(f"{URL}/not-a-uuid")) == (404, "NOT_FOUND")
        assert Contact.objects.filter(pk=someone_elses.pk).exists()
