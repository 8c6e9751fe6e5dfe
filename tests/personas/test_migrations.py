"""What every fresh database gets from the personas migrations."""

import importlib

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from personas import services
from personas.gateways import PREMADE_VOICES
from personas.models import Persona, ScenarioTemplate
from personas.selectors import PersonaFilters, persona_list
from personas.validators import DESCRIPTION, GREETING, PRETEXT, SYSTEM_PROMPT, clean_name, clean_tags

seed_personas = importlib.import_module("personas.migrations.0003_system_personas")
seed_scenarios = importlib.import_module("personas.migrations.0004_system_scenarios")


@pytest.mark.django_db
def test_fresh_database_has_the_system_personas_and_they_pass_the_api_rules():
    personas = Persona.objects.filter(owner=None)
    assert {"Best Friend", "Motivational Coach", "Wise Grandparent", "Wake-up Buddy", "Language Practice Partner"} <= {
        persona.name for persona in personas
    }
    premade_ids = {voice.voice_id for voice in PREMADE_VOICES}
    for persona in personas:
        assert persona.is_public
        assert persona.voice in premade_ids
        assert persona.tags and clean_tags(persona.tags) == persona.tags
        assert clean_name(persona.name) == persona.name
        assert DESCRIPTION.clean(persona.description) == persona.description
        assert SYSTEM_PROMPT.clean(persona.system_prompt) == persona.system_prompt
        assert persona.greeting and GREETING.clean(persona.greeting) == persona.greeting
        assert "no lists, headings, markdown" in persona.system_prompt
        services.persona_validate(voice_stability=persona.voice_stability, voice_speed=persona.voice_speed)


@pytest.mark.django_db
def test_fresh_database_has_the_system_scenarios_with_their_suggested_personas():
    scenarios = {template.name: template for template in ScenarioTemplate.objects.filter(owner=None)}
    assert set(scenarios) == {
        "Wake-up Call",
        "Interview Practice",
        "Friendly Check-in",
        "Excuse to Leave",
        "Evening Wind-down",
    }
    for template in scenarios.values():
        assert template.is_public
        assert PRETEXT.clean(template.pretext) == template.pretext
        assert template.suggested_persona is not None and template.suggested_persona.is_system
    assert scenarios["Wake-up Call"].suggested_persona.name == "Wake-up Buddy"


@pytest.mark.django_db
def test_seeding_is_reversible_and_does_not_duplicate():
    seed_scenarios.delete_scenarios(apps, None)
    seed_personas.delete_personas(apps, None)
    assert not Persona.objects.filter(owner=None).exists()
    assert not ScenarioTemplate.objects.filter(owner=None).exists()
    for _ in range(2):
        seed_personas.create_personas(apps, None)
        seed_scenarios.create_scenarios(apps, None)
    assert Persona.objects.filter(owner=None).count() == len(seed_personas.PERSONAS)
    assert ScenarioTemplate.objects.filter(owner=None).count() == len(seed_scenarios.SCENARIOS)


@pytest.mark.django_db
def test_tag_filter_uses_the_gin_index_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("The GIN index exists on PostgreSQL only.")
    tag_filter = persona_list(viewer=None, filters=PersonaFilters(tags=("calm",)))
    assert "@>" in str(tag_filter.query)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Persona.objects.filter(tags__contains=["calm"]).explain()
    assert "persona_tags_gin" in plan


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "personas", "--check", "--dry-run", verbosity=0)
