"""Input cleaning shared by every app's services.

A rule turns one field's input into its clean value or raises Django's `ValidationError`;
`clean_fields` runs a set of them and reports every bad field at once. `parse_uuid` reads an
id from a URL, a form or a provider's callback.
"""

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError

from callmeback.errors import ValidationFailed

Rule = Callable[[Any], Any]


def clean_fields(rules: Mapping[str, Rule], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Runs each given field (None = not given) through its rule. Raises one
    VALIDATION_ERROR naming every bad field; returns the clean values of the others."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field, value in fields.items():
        if value is None:
            continue
        try:
            cleaned[field] = rules[field](value)
        except ValidationError as error:
            errors[field] = list(error.messages)
    if errors:
        raise ValidationFailed.for_fields(errors)
    return cleaned


def parse_uuid(raw: object) -> uuid.UUID | None:
    """`raw` as a UUID, or None when it is not one: an id that cannot exist is simply not found."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None
