"""Versioned cache keys: cached reads that no write has to hunt down.

Each cached value is stored under the current version of what it depends on (a scope: the
persona catalogue, one user's contacts, one user's calls). A write replaces that version,
so every key built on the old one is never read again and simply expires: no client sees
data older than the last write, and no write has to know which cached reads it touched.
"""

import hashlib
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")


def _version_key(scope: str) -> str:
    return f"version:{scope}"


def versioned_key(prefix: str, scopes: tuple[str, ...], *parts: object) -> str:
    """A cache key under the current versions of `scopes`, with `parts` hashed in."""
    keys = [_version_key(scope) for scope in scopes]
    versions = cache.get_many(keys)
    for key in keys:
        if key not in versions:
            # add() keeps a version another process set in the meantime.
            cache.add(key, uuid.uuid4().hex, timeout=None)
            versions[key] = cache.get(key)
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"{prefix}:{':'.join(str(versions[key]) for key in keys)}:{digest}"


def cached(key: str, timeout: int, compute: Callable[[], T]) -> T:
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout)
    return value


def bump(*scopes: str) -> None:
    """Retires the current versions of `scopes`.

    Once now, so the writing request reads its own write, and, inside a transaction, once
    more after commit, so a read that ran alongside the transaction cannot leave the old
    rows cached under the new version. Outside one the write is already committed: once
    is enough.
    """

    def _replace() -> None:
        cache.set_many({_version_key(scope): uuid.uuid4().hex for scope in scopes}, timeout=None)

    _replace()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_replace)
