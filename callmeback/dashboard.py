"""Helpers shared by the dashboard views of every app."""

from django import forms

from callmeback.errors import ApplicationError


def add_service_error(form: forms.Form, error: ApplicationError) -> None:
    """Shows a service's error on the form: field errors by field, the rest on top."""
    placed = False
    for field, messages in error.details.items():
        if field in form.fields and isinstance(messages, list):
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)
