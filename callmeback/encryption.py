"""Encryption at rest for what people said on a call (`000_*` §10: transcripts encrypted).

`TRANSCRIPT_ENCRYPTION_KEYS` holds one or more Fernet keys, newest first: new text is
encrypted with the first, and any of them decrypts. The key derived from `SECRET_KEY` is
always tried last (`callmeback.keyring`), so text written before explicit keys were set
stays readable. A key is rotated by putting the new one in front and running
`manage.py rotate_transcript_keys`, which re-encrypts stored text with it (`reencrypt`).

Text no configured key opens (a key dropped too early, a corrupt token) reads as
`UnreadableText`, a placeholder the pages and the API show instead of failing; it can never
be written back over the token it stands for.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.db.models.functions import Cast
from django.utils.crypto import salted_hmac

from callmeback.keyring import key_material
from callmeback.startup import require_secret_key

logger = logging.getLogger(__name__)

UNREADABLE_MESSAGE = "This transcript can't be read with the current keys."


class UnreadableText(str):
    """What an encrypted column reads as when no configured key opens it: the placeholder,
    marked so a reader can tell it from text someone said."""

    def __new__(cls) -> "UnreadableText":
        return super().__new__(cls, UNREADABLE_MESSAGE)


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    if not settings.TRANSCRIPT_ENCRYPTION_KEYS:
        require_secret_key()  # a throwaway key would make stored text unreadable tomorrow
    secret_key = settings.SECRET_KEY if settings.SECRET_KEY_FROM_ENVIRONMENT else None
    return tuple(key_material(explicit=settings.TRANSCRIPT_ENCRYPTION_KEYS, secret_key=secret_key))


def encrypt(text: str) -> str:
    if isinstance(text, UnreadableText):
        raise ValueError("The placeholder of unreadable text cannot be stored over the text it stands for.")
    return _fernet(_keys()).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("Encrypted text cannot be read with the configured keys.") from error


def rotate(token: str) -> str:
    """Re-encrypts `token` with the newest key."""
    return _fernet(_keys()).rotate(token.encode()).decode()


def text_digest(text: str) -> str:
    """A keyed hash of `text` folded to lower case: equal phrases share it, so the database can
    group and count encrypted text without reading it, and no one without `SECRET_KEY` can
    test a guess against it."""
    folded = " ".join(text.casefold().split())
    return salted_hmac("callmeback.encryption.text_digest", folded, algorithm="sha256").hexdigest()


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python code sees plain text, or `UnreadableText`."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value)
        except ValueError:
            return UnreadableText()

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if not value else encrypt(value)


# --- Re-encrypting stored text with the newest key -------------------------------------------


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every encrypted column of every installed model."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


@dataclass
class Progress:
    """How far `reencrypt` has gone through one column: counts only, never content."""

    label: str
    read: int = 0
    reencrypted: int = 0
    current: int = 0  # already under the newest key: nothing to do
    unreadable: int = 0


def reencrypt(model: type[models.Model], field: EncryptedTextField, *, batch_size: int) -> Iterator[Progress]:
    """Re-encrypts one column with the newest key, `batch_size` rows at a time in primary-key
    order, yielding the running counts after each batch (once for an empty table). Memory stays
    one batch whatever the table's size; a row already under the newest key is skipped, so a
    run that stopped part-way is resumed by running it again. Each batch is one UPDATE that
    replaces a token only while it is still the one read, so nothing written meanwhile is lost."""
    newest = Fernet(_keys()[0])
    every_key = _fernet(_keys())
    raw = Cast(field.attname, output_field=models.TextField())  # the token, not decrypted
    progress = Progress(label=f"{model._meta.label}.{field.name}")
    rows = model._default_manager.order_by("pk").annotate(token=raw).values_list("pk", "token")
    last_pk = None
    while True:
        batch = list((rows if last_pk is None else rows.filter(pk__gt=last_pk))[:batch_size])
        if not batch:
            if not progress.read:
                yield progress  # an empty table still reports its counts
            return
        last_pk = batch[-1][0]
        replaced: dict[object, tuple[str, str]] = {}
        for pk, token in batch:
            progress.read += 1
            if not token:
                progress.current += 1
                continue
            try:
                newest.decrypt(token.encode())
                progress.current += 1
                continue
            except InvalidToken:
                pass
            try:
                replaced[pk] = (token, every_key.rotate(token.encode()).decode())
            except InvalidToken:
                progress.unreadable += 1
                logger.warning("%s of row %s can't be read with the current keys", progress.label, pk)
        if replaced:
            progress.reencrypted += _replace_tokens(model, field, raw, replaced)
        yield progress


def _replace_tokens(model, field, raw, replaced: dict[object, tuple[str, str]]) -> int:
    """One UPDATE for the batch: each row's token becomes its new one if it still is the old one."""
    text = models.TextField()
    new_tokens = models.Case(
        *(
            models.When(
                models.lookups.Exact(raw, models.Value(old, output_field=text)),
                pk=pk,
                then=models.Value(new, output_field=text),
            )
            for pk, (old, new) in replaced.items()
        ),
        default=raw,
        output_field=text,
    )
    return model._default_manager.filter(pk__in=list(replaced)).update(**{field.attname: new_tokens})
