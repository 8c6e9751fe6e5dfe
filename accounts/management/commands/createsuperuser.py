"""`manage.py createsuperuser`, held to the rules of registration.

Django's own command checks only the model fields: a phone like `555-1234` reached the
database's E.164 constraint (an IntegrityError traceback) and a password could be waved
through. This one asks for the email, name, phone (E.164, e.g. +15551234567) and password,
checks each as registration does, asks again when one is wrong, and creates the account
through `accounts.services`. With `--noinput` the values come from the options or from
`DJANGO_SUPERUSER_EMAIL`, `_NAME`, `_PHONE` and `_PASSWORD`, and a bad one is an error.
"""

import getpass
import os
from collections.abc import Callable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import user_create_superuser
from accounts.validators import clean_email, clean_name, clean_phone
from callmeback.errors import ApplicationError

FIELDS: list[tuple[str, str, Callable[[str], str]]] = [
    ("email", "Email", clean_email),
    ("name", "Name", clean_name),
    ("phone", "Phone, with country code (e.g. +15551234567)", clean_phone),
]


class Command(BaseCommand):
    help = "Creates an admin account: email, name, phone and password, checked like registration."

    def add_arguments(self, parser) -> None:
        for field, label, _ in FIELDS:
            parser.add_argument(f"--{field}", help=label)
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="Do not prompt for anything."
        )

    def handle(self, *args, interactive: bool, **options) -> None:
        values = {}
        for field, label, clean in FIELDS:
            given = options[field] or os.environ.get(f"DJANGO_SUPERUSER_{field.upper()}")
            values[field] = self._field(label, clean, given, interactive=interactive)
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if password is None:
            if not interactive:
                raise CommandError("Set DJANGO_SUPERUSER_PASSWORD when using --noinput.")
            password = self._password()
        try:
            user_create_superuser(password=password, **values)
        except ApplicationError as error:
            raise CommandError(_describe(error)) from None
        self.stdout.write("Superuser created successfully.")

    def _field(self, label: str, clean: Callable[[str], str], given: str | None, *, interactive: bool) -> str:
        value = given
        while True:
            if value is None:
                if not interactive:
                    raise CommandError(f"{label} is required with --noinput.")
                value = input(f"{label}: ")
            try:
                return clean(value)
            except ValidationError as error:
                if not interactive:
                    raise CommandError(f"{label}: {' '.join(error.messages)}") from None
                self.stderr.write(f"Error: {' '.join(error.messages)}")
                value = None

    def _password(self) -> str:
        while True:
            password = getpass.getpass()
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("Error: Your passwords didn't match.")
                continue
            try:
                validate_password(password)
            except ValidationError as error:
                self.stderr.write(f"Error: {' '.join(error.messages)}")
                continue
            return password


def _describe(error: ApplicationError) -> str:
    problems = [f"{field}: {messages[0]}" for field, messages in error.details.items() if isinstance(messages, list)]
    return "; ".join(problems) or error.message
