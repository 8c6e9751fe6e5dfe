"""`manage.py check --deploy` refuses the local stand-ins: Twilio or Stripe on a loopback
address, or their development-only credentials."""

import re

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from callmeback.stand_ins import LOCALSTRIPE_URL, LOCALTWILIO_AUTH_TOKEN, LOCALTWILIO_SETTINGS

REAL_PROVIDERS = {
    "TWILIO_API_BASE": "https://api.twilio.com",
    "TWILIO_ACCOUNT_SID": "AC" + "3" * 32,
    "TWILIO_AUTH_TOKEN": "a-real-looking-auth-token",
    "TWILIO_VERIFY_SERVICE_SID": "VA" + "3" * 32,
    "TWILIO_CALLER_ID": "+14155552671",
    "STRIPE_API_BASE": "",
    "STRIPE_SECRET_KEY": "sk_live_realkey",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_realkey",
}


def use_providers(settings, **overrides) -> None:
    """Real-looking provider settings, with `overrides`."""
    for name, value in (REAL_PROVIDERS | overrides).items():
        setattr(settings, name, value)


def deploy_errors(settings, **overrides) -> list[str]:
    """The ids of the project's errors `check --deploy` reports with these settings."""
    use_providers(settings, **overrides)
    try:
        call_command("check", deploy=True)
    except SystemCheckError as error:
        return sorted(re.findall(r"\((callmeback\.E\d{3})\)", str(error)))
    return []


def test_real_providers_pass(settings):
    assert deploy_errors(settings) == []


def test_the_settings_scripts_run_gives_the_stand_ins_are_all_refused(settings):
    errors = deploy_errors(
        settings,
        TWILIO_API_BASE="http://127.0.0.1:8430",
        STRIPE_API_BASE=LOCALSTRIPE_URL,
        STRIPE_SECRET_KEY="",
        STRIPE_PUBLISHABLE_KEY="",
        **LOCALTWILIO_SETTINGS,
    )

    assert errors == ["callmeback.E001", "callmeback.E002", "callmeback.E003", "callmeback.E004"]


@pytest.mark.parametrize(
    "api_base", ["http://localhost:8430", "http://LOCALHOST.:8430", "http://twilio.localhost", "http://127.0.0.2:80",
                 "http://[::1]:8430"]
)
def test_a_twilio_api_base_on_this_machine_is_refused(settings, api_base):
    assert deploy_errors(settings, TWILIO_API_BASE=api_base) == ["callmeback.E001"]


def test_a_twilio_api_base_elsewhere_passes(settings):
    assert deploy_errors(settings, TWILIO_API_BASE="https://twilio-egress.example.com") == []


def test_one_local_twilio_credential_is_refused_by_name(settings):
    assert deploy_errors(settings, TWILIO_AUTH_TOKEN=LOCALTWILIO_AUTH_TOKEN) == ["callmeback.E002"]
    with pytest.raises(SystemCheckError, match="TWILIO_AUTH_TOKEN is the local Twilio's"):
        call_command("check", deploy=True)


def test_a_stripe_api_base_on_this_machine_is_refused(settings):
    assert deploy_errors(settings, STRIPE_API_BASE="http://localhost:8420") == ["callmeback.E003"]


@pytest.mark.parametrize(
    "keys",
    [
        {"STRIPE_SECRET_KEY": ""},
        {"STRIPE_SECRET_KEY": "sk_test_local"},
        {"STRIPE_PUBLISHABLE_KEY": "pk_test_local"},
    ],
)
def test_stripe_keys_unset_or_localstripes_are_refused(settings, keys):
    assert deploy_errors(settings, **keys) == ["callmeback.E004"]


def test_development_settings_pass_the_checks_without_deploy(settings):
    use_providers(settings, TWILIO_API_BASE="http://127.0.0.1:8430", STRIPE_SECRET_KEY="", **LOCALTWILIO_SETTINGS)

    call_command("check")


def test_a_transcript_key_that_is_not_a_fernet_key_is_refused_on_every_check(settings):
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), "not-a-fernet-key"]

    with pytest.raises(SystemCheckError, match=r"callmeback\.E005\) Key 2 of TRANSCRIPT_ENCRYPTION_KEYS"):
        call_command("check")
