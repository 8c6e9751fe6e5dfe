"""Encryption at rest for what people said on a call (`000_*` §10: transcripts encrypted).

`TRANSCRIPT_ENCRYPTION_KEYS` holds one or more Fernet keys, newest first: new text is
encrypted with the first, and any of them decrypts, so a key can be rotated by putting the
new one in front and re-encrypting at leisure (`rotate`). Without the setting, one key is
derived from `SECRET_KEY`, the way Django derives its own signing keys.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

from callmeback.startup import require_secret_key


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    if settings.TRANSCRIPT_ENCRYPTION_KEYS:
        return tuple(settings.TRANSCRIPT_ENCRYPTION_KEYS)
    require_secret_key()  # a throwaway key would make stored text unreadable tomorrow
    digest = hashlib.sha256(f"callmeback.transcripts:{settings.SECRET_KEY}".encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


def encrypt(text: str) -> str:
    return _fernet(_keys()).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("Encrypted text cannot be read with the configured keys.") from error


def rotate(token: str) -> str:
    """Re-encrypts `token` with the newest key."""
    return _fernet(_keys()).rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python code sees plain text."""

    def from_db_value(self, value, expression, connection):
        return value if not value else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if not value else encrypt(value)
