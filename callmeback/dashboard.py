"""Helpers shared by the dashboard views (and admin forms) of every app."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from callmeback.errors import ApplicationError, RateLimitExceeded
from callmeback.ratelimit import RateLimit, enforce_rate_limit

T = TypeVar("T")


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
    for field, field_messages in error.details.items():
        if field in form.fields and isinstance(field_messages, list):
            for message in field_messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error_message(error))


def run_action(
    request: HttpRequest,
    action: Callable[[], T],
    success: str | Callable[[T], str],
    *,
    limit: RateLimit | None = None,
    form: forms.Form | None = None,
    level: int = messages.SUCCESS,
) -> bool:
    """Runs a dashboard action behind its rate limit, the way every page does: on success
    flashes `success` (or what it says of the action's result) and returns True; a refusal
    goes on `form` when there is one, else is flashed, and returns False."""
    try:
        if limit is not None:
            enforce_rate_limit(request, limit)
        result = action()
    except ApplicationError as error:
        if form is None:
            messages.error(request, error_message(error))
        else:
            add_service_error(form, error)
        return False
    messages.add_message(request, level, success(result) if callable(success) else success)
    return True


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
