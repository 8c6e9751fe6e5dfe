"""Failed writes are classified by the constraint the database names, on every backend."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from callmeback.db import declared_constraint_names, unique_field_constraint_names, violated_constraint
from personas.models import Persona

pytestmark = pytest.mark.django_db


def _broken_constraint(write) -> str:
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        write()
    return violated_constraint(error.value)


@pytest.mark.parametrize("field", ["email", "phone"])
def test_a_taken_unique_column_is_named(user, field):
    other = {"email": "someone@example.com", "phone": "+15559990000", field: getattr(user, field)}

    constraint = _broken_constraint(lambda: User.objects.create(name="Someone", **other))

    assert constraint in unique_field_constraint_names(User, field)


def test_a_taken_persona_name_is_named(user):
    Persona.objects.create(owner=user, name="Twin", description="d" * 10, voice="v", system_prompt="p" * 20)

    constraint = _broken_constraint(
        lambda: Persona.objects.create(owner=user, name="TWIN", description="d" * 10, voice="v", system_prompt="p" * 20)
    )

    assert constraint == "personas_persona_name_per_owner"
    assert constraint in declared_constraint_names(Persona)


def test_an_unnamed_failure_is_reported_as_such():
    assert violated_constraint(IntegrityError("something else went wrong")) == ""
