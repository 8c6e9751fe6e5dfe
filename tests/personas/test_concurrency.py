"""Limits hold when one user's requests race each other (PostgreSQL row locks)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from callmeback.errors import ApplicationError
from personas import services
from personas.models import Contact, Persona

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 4


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every write; the race needs concurrent transactions.")


def race(action) -> list[str]:
    """Runs `action(n)` in RACERS threads released together; returns each outcome."""
    barrier = threading.Barrier(RACERS)

    def run(n: int) -> str:
        barrier.wait()
        try:
            action(n)
            return "ok"
        except ApplicationError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(run, range(RACERS)))


def test_racing_creates_cannot_pass_the_persona_limit(user, persona_factory):
    persona_factory.create_batch(9, owner=user)
    outcomes = race(
        lambda n: services.persona_create(
            owner=user,
            name=f"Racer {n}",
            description="Created by a racing request.",
            voice="rachel",
            system_prompt="You are one of several personas created at once.",
        )
    )
    assert sorted(outcomes) == ["MAX_PERSONAS"] * (RACERS - 1) + ["ok"]
    assert Persona.objects.filter(owner=user).count() == 10


def test_racing_adds_of_one_persona_make_one_contact(user, persona_factory):
    persona = persona_factory(is_public=True)
    outcomes = race(lambda n: services.contact_add(user=user, persona_id=persona.pk))
    assert sorted(outcomes) == ["ALREADY_EXISTS"] * (RACERS - 1) + ["ok"]
    assert Contact.objects.filter(user=user).count() == 1
