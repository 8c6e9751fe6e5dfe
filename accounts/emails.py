"""The account emails (verification, password reset) and the tokens their links carry."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import User
from accounts.tasks import send_email

EMAIL_VERIFICATION_SALT = "accounts.email-verification"


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def email_verification_token(user: User) -> str:
    """Signed and timestamped; it names the email, so changing the email voids it."""
    return signing.dumps({"user": str(user.pk), "email": user.email}, salt=EMAIL_VERIFICATION_SALT)


def password_reset_token(user: User) -> str:
    """Django's reset token: it expires, and changing the password voids it (single use)."""
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"


def password_reset_token_user(token: str) -> User | None:
    uid, _, secret = (token or "").partition(".")
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uid)), is_active=True)
    except (ValueError, TypeError, ValidationError, User.DoesNotExist):
        return None
    return user if default_token_generator.check_token(user, secret) else None


def send_email_verification(user: User) -> None:
    link = _absolute(reverse("accounts:verify-email", args=[email_verification_token(user)]))
    body = render_to_string("emails/verify_email.txt", {"user": user, "link": link})
    send_email.delay(subject="Confirm your email for Call Me Back", body=body, to=user.email)


def send_password_reset(user: User) -> None:
    link = _absolute(reverse("accounts:reset-password", args=[password_reset_token(user)]))
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    body = render_to_string("emails/reset_password.txt", {"user": user, "link": link, "minutes": minutes})
    send_email.delay(subject="Reset your Call Me Back password", body=body, to=user.email)
