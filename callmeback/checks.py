"""System checks. Deploy checks (`manage.py check --deploy`): a production settings file must
not point the app at the local stand-ins for Twilio and Stripe. Those stand-ins listen on
loopback and accept published, development-only credentials (callmeback.stand_ins); a deploy
that forgot the real provider variables would otherwise start, then fail every call and every
payment. Every run: `TRANSCRIPT_ENCRYPTION_KEYS` must be Fernet keys, or the first transcript
written would fail mid-call.
"""

import ipaddress
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from callmeback.stand_ins import LOCALSTRIPE_PUBLISHABLE_KEY, LOCALSTRIPE_SECRET_KEY, LOCALTWILIO_SETTINGS

TWILIO_API_BASE_ON_LOOPBACK = "callmeback.E001"
TWILIO_LOCAL_CREDENTIALS = "callmeback.E002"
STRIPE_API_BASE_ON_LOOPBACK = "callmeback.E003"
STRIPE_LOCAL_CREDENTIALS = "callmeback.E004"
TRANSCRIPT_KEY_INVALID = "callmeback.E005"


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine: localhost, a *.localhost name, 127.0.0.0/8 or ::1."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register(Tags.security, deploy=True)
def check_no_local_twilio(app_configs, **kwargs) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if is_loopback(settings.TWILIO_API_BASE):
        errors.append(
            Error(
                f"TWILIO_API_BASE points at this machine ({settings.TWILIO_API_BASE}): the local Twilio.",
                hint="Unset TWILIO_API_BASE to reach Twilio itself.",
                id=TWILIO_API_BASE_ON_LOOPBACK,
            )
        )
    local = sorted(name for name, value in LOCALTWILIO_SETTINGS.items() if getattr(settings, name) == value)
    if local:
        errors.append(
            Error(
                f"{', '.join(local)} {'is' if len(local) == 1 else 'are'} the local Twilio's development value.",
                hint="Set the Twilio account's own values.",
                id=TWILIO_LOCAL_CREDENTIALS,
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_no_local_stripe(app_configs, **kwargs) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.STRIPE_API_BASE and is_loopback(settings.STRIPE_API_BASE):
        errors.append(
            Error(
                f"STRIPE_API_BASE points at this machine ({settings.STRIPE_API_BASE}): localstripe.",
                hint="Unset STRIPE_API_BASE to reach Stripe itself.",
                id=STRIPE_API_BASE_ON_LOOPBACK,
            )
        )
    if settings.STRIPE_SECRET_KEY in ("", LOCALSTRIPE_SECRET_KEY) or (
        settings.STRIPE_PUBLISHABLE_KEY == LOCALSTRIPE_PUBLISHABLE_KEY
    ):
        errors.append(
            Error(
                "Stripe's keys are unset or localstripe's: the app would take payments on localstripe.",
                hint="Set STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY to the Stripe account's keys.",
                id=STRIPE_LOCAL_CREDENTIALS,
            )
        )
    return errors


@register(Tags.security)
def check_transcript_keys(app_configs, **kwargs) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    keys = [key.strip() for key in settings.TRANSCRIPT_ENCRYPTION_KEYS if key.strip()]  # as the keyring reads them
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            errors.append(
                Error(
                    f"Key {position} of TRANSCRIPT_ENCRYPTION_KEYS is not a Fernet key.",
                    hint='Generate one with: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"',
                    id=TRANSCRIPT_KEY_INVALID,
                )
            )
    return errors
