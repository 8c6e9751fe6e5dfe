"""Dashboard pages for personas, contacts and scenarios (server-rendered)."""

import pytest
from django.urls import reverse

from personas.models import Contact, Persona, ScenarioTemplate
from tests.conftest import client_for


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def persona_form(**overrides) -> dict:
    return {
        "name": "Desk Buddy",
        "description": "Keeps you company while you work from home.",
        "voice": "21m00Tcm4TlvDq8ikWAM",
        "greeting": "",
        "system_prompt": "You are a cheerful co-worker who chats during breaks.",
        "tags": "work, friendly",
        "voice_stability": "0.5",
        "voice_similarity": "0.75",
        "voice_speed": "1.0",
        "llm_model": "",
        "llm_temperature": "0.8",
        **overrides,
    }


@pytest.mark.django_db
class TestBrowse:
    def test_anonymous_visitor_browses_public_personas(self, client, persona_factory):
        persona_factory(name="Hidden One")
        response = client.get(reverse("personas:list"))
        assert response.status_code == 200
        assert b"Best Friend" in response.content
        assert b"Hidden One" not in response.content

    def test_search_tags_and_sort_filter_the_page(self, client):
        response = client.get(reverse("personas:list"), {"search": "grand", "tags": "wise", "sort": "name_desc"})
        assert [persona.name for persona in response.context["page"].items] == ["Wise Grandparent"]

    def test_bad_filters_show_a_message_instead_of_failing(self, client):
        response = client.get(reverse("personas:list"), {"sort": "nonsense"})
        assert response.status_code == 200
        assert b"sort must be one of" in response.content

    def test_pages_link_to_the_next_page_keeping_the_filters(self, client, persona_factory):
        persona_factory.create_batch(13, is_public=True, tags=["bulk"])
        response = client.get(reverse("personas:list"), {"tags": "bulk"})
        assert b'href="?tags=bulk&amp;page=2"' in response.content

    def test_nav_links_point_to_personas_and_contacts(self, signed_in):
        content = signed_in.get(reverse("personas:contacts")).content.decode()
        assert f'href="{reverse("personas:list")}"' in content
        assert f'href="{reverse("personas:contacts")}" aria-current="page"' in content


@pytest.mark.django_db
class TestDetail:
    def test_shows_greeting_voice_tags_and_actions(self, signed_in):
        persona = Persona.objects.get(name="Wake-up Buddy", owner=None)
        content = signed_in.get(reverse("personas:detail", args=[persona.pk])).content.decode()
        assert persona.greeting.replace("'", "&#x27;") in content
        assert "Jessica" in content
        assert "morning" in content
        assert "Add to contacts" in content
        assert f"/calls/new?persona={persona.pk}" in content
        assert "Edit" not in content

    def test_user_text_is_escaped_on_the_way_out(self, client, persona_factory):
        persona = persona_factory(is_public=True, description="I <3 tea & <b>cake</b>")
        content = client.get(reverse("personas:detail", args=[persona.pk])).content.decode()
        assert "I &lt;3 tea &amp; &lt;b&gt;cake&lt;/b&gt;" in content

    def test_someone_elses_private_persona_is_404(self, signed_in, other_user, persona_factory):
        persona = persona_factory(owner=other_user)
        assert signed_in.get(reverse("personas:detail", args=[persona.pk])).status_code == 404


@pytest.mark.django_db
class TestCreateEditDelete:
    def test_create_needs_sign_in(self, client):
        response = client.get(reverse("personas:create"))
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]

    def test_the_new_persona_form_starts_from_the_model_defaults(self, signed_in):
        form = signed_in.get(reverse("personas:create")).context["form"]
        initial = {name: form[name].value() for name in form.TUNING_FIELDS}
        assert initial == {
            "voice_stability": 0.5,
            "voice_similarity": 0.75,
            "voice_speed": 1.0,
            "llm_model": "",
            "llm_temperature": 0.8,
        }

    def test_creates_a_persona_and_shows_it(self, signed_in, user):
        response = signed_in.post(reverse("personas:create"), persona_form())
        persona = Persona.objects.get(owner=user, name="Desk Buddy")
        assert response.status_code == 302
        assert response["Location"] == reverse("personas:detail", args=[persona.pk])
        assert persona.tags == ["work", "friendly"]

    def test_invalid_fields_are_shown_next_to_the_field(self, signed_in, user):
        response = signed_in.post(reverse("personas:create"), persona_form(description="short", tags="Bad_Tag"))
        assert response.status_code == 200
        form = response.context["form"]
        assert form.errors["description"] == ["Description must be at least 10 characters."]
        assert "tags" in form.errors
        assert not Persona.objects.filter(owner=user).exists()

    def test_the_persona_limit_is_shown_on_the_form(self, signed_in, user, persona_factory):
        persona_factory.create_batch(10, owner=user)
        response = signed_in.post(reverse("personas:create"), persona_form())
        assert "limit of 10 custom personas" in response.context["form"].non_field_errors()[0]

    def test_owner_edits_their_persona(self, signed_in, user, persona_factory):
        persona = persona_factory(owner=user)
        response = signed_in.post(reverse("personas:edit", args=[persona.pk]), persona_form(name="Edited Name"))
        assert response.status_code == 302
        persona.refresh_from_db()
        assert persona.name == "Edited Name"

    def test_system_persona_edit_page_is_forbidden(self, signed_in):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        assert signed_in.get(reverse("personas:edit", args=[persona.pk])).status_code == 403
        assert signed_in.post(reverse("personas:delete", args=[persona.pk])).status_code == 403

    def test_owner_deletes_after_confirming(self, signed_in, user, persona_factory):
        persona = persona_factory(owner=user)
        assert b"cannot be undone" in signed_in.get(reverse("personas:delete", args=[persona.pk])).content
        response = signed_in.post(reverse("personas:delete", args=[persona.pk]))
        assert response["Location"] == reverse("personas:list")
        assert not Persona.objects.filter(pk=persona.pk).exists()


@pytest.mark.django_db
class TestContacts:
    def test_add_list_and_remove(self, signed_in, user):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        signed_in.post(reverse("personas:contact-add", args=[persona.pk]))
        assert Contact.objects.filter(user=user, persona=persona).exists()
        assert b"Best Friend" in signed_in.get(reverse("personas:contacts")).content
        signed_in.post(reverse("personas:contact-remove", args=[persona.pk]))
        assert not Contact.objects.filter(user=user).exists()

    def test_adding_twice_shows_a_message(self, signed_in, user):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        signed_in.post(reverse("personas:contact-add", args=[persona.pk]))
        response = signed_in.post(reverse("personas:contact-add", args=[persona.pk]), follow=True)
        assert b"already in your contacts" in response.content

    def test_next_must_stay_on_this_site(self, signed_in):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        response = signed_in.post(
            reverse("personas:contact-add", args=[persona.pk]), {"next": "https://evil.example/phish"}
        )
        assert response["Location"] == reverse("personas:detail", args=[persona.pk])


@pytest.mark.django_db
class TestScenarios:
    def test_lists_system_scenarios(self, signed_in):
        response = signed_in.get(reverse("personas:scenarios"))
        assert b"Wake-up Call" in response.content
        assert b"Wake-up Buddy" in response.content

    def test_creates_edits_and_deletes_a_scenario(self, signed_in, user):
        buddy = Persona.objects.get(name="Wake-up Buddy", owner=None)
        data = {
            "name": "Early Flight",
            "description": "Get me to the airport on time.",
            "pretext": "You are calling to wake them for a 6am flight.",
            "suggested_persona_id": str(buddy.pk),
        }
        assert signed_in.post(reverse("personas:scenario-create"), data).status_code == 302
        template = ScenarioTemplate.objects.get(owner=user, name="Early Flight")
        assert template.suggested_persona == buddy
        signed_in.post(reverse("personas:scenario-edit", args=[template.pk]), {**data, "name": "Red-eye Flight"})
        template.refresh_from_db()
        assert template.name == "Red-eye Flight"
        signed_in.post(reverse("personas:scenario-delete", args=[template.pk]))
        assert not ScenarioTemplate.objects.filter(pk=template.pk).exists()

    def test_invalid_scenario_shows_field_errors(self, signed_in):
        response = signed_in.post(
            reverse("personas:scenario-create"), {"name": "ok name", "description": "short", "pretext": "x"}
        )
        assert set(response.context["form"].errors) == {"description", "pretext"}


@pytest.mark.django_db
def test_contact_limit_is_one_allowance_shared_by_the_api_and_the_dashboard(signed_in, user):
    api = client_for(user)
    unknown = "00000000-0000-4000-8000-000000000000"
    for _ in range(15):
        api.delete(f"/api/contacts/{unknown}")
    for _ in range(15):
        signed_in.post(reverse("personas:contact-remove", args=[unknown]))

    assert api.delete(f"/api/contacts/{unknown}").status_code == 429
    response = signed_in.post(reverse("personas:contact-remove", args=[unknown]), follow=True)
    assert "Too many requests" in response.content.decode()
