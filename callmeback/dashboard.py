"""Helpers shared by the dashboard views (and admin forms) of every app."""

from collections.abc import Sequence
from typing import Any

from django import forms

from callmeback.errors import ApplicationError, RateLimitExceeded


def _wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = -(-minutes // 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def error_message(error: ApplicationError) -> str:
    """The error for a person on a page: a rate limit also says when to try again."""
    if isinstance(error, RateLimitExceeded) and error.retry_after and error.message == error.default_message:
        return f"{error.message}. Try again in {_wait(error.retry_after)}."
    return error.message


def add_service_error(form: forms.Form, error: ApplicationError) -> None:
    """Shows a service's error on the form: field errors by field, the rest on top."""
    placed = False
    for field, messages in error.details.items():
        if field in form.fields and isinstance(messages, list):
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error_message(error))


class ServiceValidatedMixin:
    """For a form: runs `validated_fields` through a service's validator in the same round
    as the form's own checks (so every problem shows at once) and keeps its cleaned values.
    Fields the form itself refused are left out, so each gets one message."""

    validated_fields: Sequence[str] = ()

    @staticmethod
    def validate(**fields: Any) -> dict[str, Any]:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        fields = {name: cleaned[name] for name in self.validated_fields if name in cleaned}
        try:
            cleaned.update(self.validate(**fields))
        except ApplicationError as error:
            add_service_error(self, error)
        return cleaned
