"""Input rules for accounts, shared by the API and the dashboard through the services."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email as django_validate_email

from accounts.models import E164_REGEX

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 255
PASSWORD_MAX_LENGTH = 128

# Letters from any script, with single spaces, hyphens or apostrophes between them.
_NAME_RE = re.compile(r"^[^\W\d_]+(?:[ '\u2019\-][^\W\d_]+)*$")
_E164_RE = re.compile(E164_REGEX)
_PHONE_SEPARATORS = re.compile(r"[\s().\-]")

PASSWORD_RULES = "at least 8 characters with an uppercase letter, a lowercase letter, a number and a special character"


def clean_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise ValidationError("Name is required.")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(f"Name must be at most {NAME_MAX_LENGTH} characters.")
    if not _NAME_RE.match(name):
        raise ValidationError("Name may contain only letters, spaces, hyphens and apostrophes.")
    return name


def clean_email(value: str) -> str:
    email = value.strip().lower()
    if not email:
        raise ValidationError("Email is required.")
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"Email must be at most {EMAIL_MAX_LENGTH} characters.")
    try:
        django_validate_email(email)
    except ValidationError:
        raise ValidationError("Enter a valid email address.") from None
    return email


def clean_phone(value: str) -> str:
    """Normalises to E.164 (`+15551234567`), accepting common separators on the way in."""
    phone = _PHONE_SEPARATORS.sub("", value.strip())
    if not _E164_RE.match(phone):
        raise ValidationError("Phone must be in E.164 format, e.g. +15551234567 (10 to 15 digits).")
    return phone


def clean_callable_phone(value: str) -> str:
    """A number we may call or text: a valid number (parsed with `phonenumbers`) in one of
    `CALL_ALLOWED_COUNTRIES` (a guard against toll fraud), returned in E.164."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Phone number is required.")
    try:
        number = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        raise ValidationError("Phone must be in E.164 format, e.g. +15551234567 (10 to 15 digits).") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This is not a valid phone number.")
    country = phonenumbers.region_code_for_number(number)
    if country not in settings.CALL_ALLOWED_COUNTRIES:
        allowed = ", ".join(settings.CALL_ALLOWED_COUNTRIES)
        raise ValidationError(f"Calls to this country are not available (allowed: {allowed}).")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PasswordStrengthValidator:
    """Django password validator for the spec's rule (AUTH_PASSWORD_VALIDATORS)."""

    def validate(self, password: str, user=None) -> None:
        if len(password) > PASSWORD_MAX_LENGTH:
            raise ValidationError(
                f"Password must be at most {PASSWORD_MAX_LENGTH} characters.", code="password_too_long"
            )
        if (
            len(password) < 8
            or not re.search(r"[A-Z]", password)
            or not re.search(r"[a-z]", password)
            or not re.search(r"\d", password)
            or not re.search(r"[^A-Za-z0-9]", password)
        ):
            raise ValidationError(f"Password must have {PASSWORD_RULES}.", code="password_too_weak")

    def get_help_text(self) -> str:
        return f"Your password must have {PASSWORD_RULES}."
