"""factory_boy factories for personas, contacts and scenario templates."""

import factory

from personas.models import Contact, Persona, ScenarioTemplate
from tests.factories import UserFactory

RACHEL = "21m00Tcm4TlvDq8ikWAM"
ADAM = "pNInz6obpgDQGcFmaJgB"


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Persona

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Persona {n}")
    description = "A persona made for the tests, friendly and brief."
    voice = RACHEL
    system_prompt = "You are a friendly persona who keeps phone answers short."
    is_public = False
    tags = factory.LazyFunction(list)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    user = factory.SubFactory(UserFactory)
    persona = factory.SubFactory(PersonaFactory, is_public=True)


class ScenarioTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScenarioTemplate

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Scenario {n}")
    description = "A situation for a call, made for the tests."
    pretext = "You are calling to remind them about their dentist appointment."
    is_public = False
