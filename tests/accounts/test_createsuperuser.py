"""`manage.py createsuperuser` checks what it is given like registration does."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db

STRONG = "Adm1n!Password"


def _noinput(monkeypatch, password: str = STRONG, **options):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", password)
    fields = {"email": "admin@example.com", "name": "Ada Admin", "phone": "+1 555 123 4567"} | options
    call_command("createsuperuser", interactive=False, stdout=io.StringIO(), **fields)


def test_noinput_creates_a_verified_superuser_with_a_normalised_phone(monkeypatch):
    _noinput(monkeypatch)

    user = User.objects.get(email="admin@example.com")
    assert (user.is_staff, user.is_superuser, user.email_verified) == (True, True, True)
    assert user.phone == "+15551234567"
    assert user.check_password(STRONG)


def test_a_local_phone_number_is_refused_with_the_registration_message(monkeypatch):
    with pytest.raises(CommandError, match=r"E\.164"):
        _noinput(monkeypatch, phone="555-1234")

    assert not User.objects.exists()


def test_a_weak_password_is_refused(monkeypatch):
    with pytest.raises(CommandError, match="password: Password must have at least 8 characters"):
        _noinput(monkeypatch, password="x")

    assert not User.objects.exists()


def test_a_registered_phone_is_refused_without_a_traceback(monkeypatch, user_factory):
    user_factory(phone="+15551234567")

    with pytest.raises(CommandError, match="Phone already registered"):
        _noinput(monkeypatch)


def test_prompts_ask_again_until_each_answer_is_valid(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    answers = iter(["admin@example.com", "Ada T. Admin", "555-1234", "+15551234567"])
    passwords = iter(["x", "x", STRONG, "typo", STRONG, STRONG])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt="Password: ": next(passwords))
    errors = io.StringIO()

    call_command("createsuperuser", stdout=io.StringIO(), stderr=errors)

    assert User.objects.get(email="admin@example.com").check_password(STRONG)
    assert "E.164" in errors.getvalue()
    assert "Password must have" in errors.getvalue()
    assert "didn't match" in errors.getvalue()
