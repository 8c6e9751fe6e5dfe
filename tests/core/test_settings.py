"""Production settings pass Django's deployment checklist; secrets never reach the logs."""

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

from callmeback.logging import RedactSecretsFilter, mask_phone

ROOT = Path(__file__).resolve().parents[2]


# What a deploy sets besides the secret key: the real providers' credentials (the local
# stand-ins' are refused by `check --deploy`, see test_deploy_checks.py).
PRODUCTION_PROVIDERS = {
    "TWILIO_ACCOUNT_SID": "AC" + "3" * 32,
    "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
    "TWILIO_VERIFY_SERVICE_SID": "VA" + "3" * 32,
    "TWILIO_CALLER_ID": "+14155552671",
    "STRIPE_SECRET_KEY": "sk_live_" + secrets.token_hex(12),
    "STRIPE_PUBLISHABLE_KEY": "pk_live_" + secrets.token_hex(12),
}


def test_production_settings_pass_check_deploy():
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "callmeback.example.com",
        **PRODUCTION_PROVIDERS,
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def _django_setting(name: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    code = f"from django.conf import settings; print(settings.{name})"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_web_server_refuses_to_start_without_a_secret_key_even_in_debug():
    for entry_point in ("callmeback.asgi", "callmeback.wsgi"):
        result = subprocess.run(
            [sys.executable, "-c", f"import {entry_point}"],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], "DEBUG": "True"},
            capture_output=True,
            text=True,
            check=False,
        )

        assert result.returncode != 0
        assert "SECRET_KEY must be set" in result.stderr


def test_a_celery_worker_refuses_to_start_without_a_secret_key():
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "callmeback", "worker", "--pool", "solo"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "CELERY_BROKER_URL": "memory://"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stdout + result.stderr


def test_migration_check_needs_no_secret():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_never_loads_the_development_tools():
    code = (
        "import sys; from django.conf import settings; "
        "print('devtools' in settings.INSTALLED_APPS, any(name.startswith('devtools') for name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "SECRET_KEY": secrets.token_urlsafe(50), **PRODUCTION_PROVIDERS},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False False"


def test_development_tools_load_with_debug_or_when_asked_for():
    for env in ({"DEBUG": "True"}, {"DEVTOOLS": "True"}):
        result = _django_setting("INSTALLED_APPS", {"SECRET_KEY": secrets.token_urlsafe(50), **env})

        assert result.returncode == 0, result.stderr
        assert "'devtools'" in result.stdout.strip().splitlines()[-1]


def test_debug_is_off_unless_asked_for():
    result = _django_setting("DEBUG", {"SECRET_KEY": secrets.token_urlsafe(50)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def redacted(message: str, *args) -> str:
    record = logging.LogRecord("test", logging.INFO, __file__, 1, message, args, None)
    RedactSecretsFilter().filter(record)
    return record.getMessage()


def test_log_lines_hide_jwts_and_bearer_tokens():
    line = redacted("auth header %s", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")

    assert "eyJ" not in line
    assert "c2lnbmF0dXJl" not in line


def test_log_lines_show_only_the_last_four_digits_of_phones():
    assert redacted("calling %s", "+15551234567") == "calling ***4567"
    assert mask_phone("+447911123456") == "***3456"


def test_log_lines_hide_passwords_and_stripe_secrets():
    line = redacted('payload {"password": "Hunter2!x", "key": "sk_test_abcdefghij"}')

    assert "Hunter2" not in line
    assert "sk_test_abcdefghij" not in line
