"""A logging filter that keeps secrets and phone numbers out of every log line."""

import logging
import re

from django.conf import settings

_PATTERNS = [
    # JSON Web Tokens and bearer credentials.
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+"), "[REDACTED-TOKEN]"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[REDACTED]"),
    # Basic credentials (Twilio's SDK sends the account SID and auth token so).
    (re.compile(r"(?i)(\bbasic\s+)[A-Za-z0-9+/]{16,}={0,2}"), r"\1[REDACTED]"),
    # Provider secrets: Stripe keys, client secrets, webhook secrets.
    (re.compile(r"\b(sk|rk|whsec)_(live|test)?_?\w{6,}"), "[REDACTED-KEY]"),
    # OpenAI-style keys: sk-…, sk-proj-…, sk-svcacct-….
    (re.compile(r"\bsk-[\w-]{16,}"), "[REDACTED-KEY]"),
    (re.compile(r"\b(pi_\w+)_secret_\w+"), r"\1_secret_[REDACTED]"),
    # password=..., "password": "..."
    (re.compile(r"(?i)(\"?(?:new_|current_)?password\"?\s*[:=]\s*\"?)[^\s\",&]+"), r"\1[REDACTED]"),
    # Phone numbers: keep only the last four digits.
    (re.compile(r"\+\d{4,11}(\d{4})\b"), r"***\1"),
]


# A configured secret shorter than this is a test stand-in; masking it would mangle lines.
MIN_SECRET_CHARS = 8


def _configured_secrets() -> list[str]:
    """Secret values from settings that have no shape a pattern could recognise: Twilio's
    auth token is 32 plain hex characters. Read per line, so a changed setting applies."""
    token = getattr(settings, "TWILIO_AUTH_TOKEN", "") if settings.configured else ""
    return [token] if len(token) >= MIN_SECRET_CHARS else []


def redact(text: str) -> str:
    for secret in _configured_secrets():
        text = text.replace(secret, "[REDACTED-TOKEN]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_phone(phone: str | None) -> str:
    """`+15551234567` → `***4567`, for log lines and admin screens."""
    if not phone:
        return ""
    return f"***{phone[-4:]}"


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
