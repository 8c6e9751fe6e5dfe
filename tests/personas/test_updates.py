"""Updates check everything first and change the caller's object only by returning a new one."""

import pytest

from personas import services
from personas.services import DuplicateName


@pytest.mark.django_db
def test_a_refused_persona_rename_leaves_the_callers_persona_as_it_was(persona_factory, user):
    persona_factory(owner=user, name="Morning Coach")
    persona = persona_factory(owner=user, name="Evening Coach")

    with pytest.raises(DuplicateName):
        services.persona_update(persona=persona, actor=user, name="morning coach", description="A new description.")

    assert persona.name == "Evening Coach"
    assert persona.description != "A new description."


@pytest.mark.django_db
def test_a_persona_update_returns_the_saved_persona(persona_factory, user):
    persona = persona_factory(owner=user, name="Evening Coach")

    updated = services.persona_update(persona=persona, actor=user, name="Night Coach")

    assert updated.name == "Night Coach"
    assert type(persona).objects.get(pk=persona.pk).name == "Night Coach"


@pytest.mark.django_db
def test_a_refused_scenario_rename_leaves_the_callers_template_as_it_was(scenario_factory, user):
    scenario_factory(owner=user, name="Wake Up")
    template = scenario_factory(owner=user, name="Interview Prep")

    with pytest.raises(DuplicateName):
        services.scenario_template_update(template=template, actor=user, name="WAKE UP")

    assert template.name == "Interview Prep"
