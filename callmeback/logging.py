"""A logging filter that keeps secrets and phone numbers out of every log line."""

import logging
import re

_PATTERNS = [
    # JSON Web Tokens and bearer credentials.
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+"), "[REDACTED-TOKEN]"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[REDACTED]"),
    # Provider secrets: Stripe keys, client secrets, webhook secrets.
    (re.compile(r"\b(sk|rk|whsec)_(live|test)?_?\w{6,}"), "[REDACTED-KEY]"),
    (re.compile(r"\b(pi_\w+)_secret_\w+"), r"\1_secret_[REDACTED]"),
    # password=..., "password": "..."
    (re.compile(r"(?i)(\"?(?:new_|current_)?password\"?\s*[:=]\s*\"?)[^\s\",&]+"), r"\1[REDACTED]"),
    # Phone numbers: keep only the last four digits.
    (re.compile(r"\+\d{4,11}(\d{4})\b"), r"***\1"),
]


def redact(text: str) -> str:
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
