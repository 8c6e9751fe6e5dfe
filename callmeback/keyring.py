"""The key material transcripts and the channel layer are encrypted with.

Plain Python, no Django: settings build the channel layer's keys from it before Django is
set up, and `callmeback.encryption` builds the transcripts' from the same function.
"""

import base64
import hashlib
from collections.abc import Sequence


def derived_key(secret_key: str) -> str:
    """The Fernet key derived from `SECRET_KEY`, the way Django derives its own signing keys."""
    digest = hashlib.sha256(f"callmeback.transcripts:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def key_material(*, explicit: Sequence[str], secret_key: str | None) -> list[str]:
    """The explicit keys (newest first, the one new text is encrypted with), then the key
    derived from `secret_key`: text written before explicit keys were set stays readable
    until `rotate_transcript_keys` has moved it to the newest key."""
    keys = [key.strip() for key in explicit if key.strip()]
    if secret_key:
        derived = derived_key(secret_key)
        if derived not in keys:
            keys.append(derived)
    return keys
