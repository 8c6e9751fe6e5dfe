"""Cache scopes of the persona lists (see `callmeback/cache.py` for how versioning works)."""

import uuid

from callmeback.cache import bump, cached
from callmeback.cache import versioned_key as _versioned_key

__all__ = ["CATALOGUE", "bump", "cached", "contacts_scope", "versioned_key"]

CATALOGUE = "personas:catalogue"


def contacts_scope(user_id: uuid.UUID) -> str:
    return f"personas:contacts:{user_id}"


def versioned_key(prefix: str, scopes: tuple[str, ...], *parts: object) -> str:
    return _versioned_key(f"personas:{prefix}", scopes, *parts)
