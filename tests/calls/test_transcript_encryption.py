"""Transcripts are encrypted at rest, and keys can be rotated without losing old text."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from callmeback import encryption
from calls.models import Call, CallTurn
from personas.models import Persona


@pytest.fixture
def call(user):
    persona = Persona.objects.filter(owner__isnull=True).first()
    return Call.objects.create(user=user, persona=persona, persona_name=persona.name, phone_number=user.phone)


@pytest.mark.django_db
def test_turn_text_is_stored_as_ciphertext(call):
    CallTurn.objects.create(call=call, index=0, speaker=CallTurn.Speaker.PERSON, text="my secret plans")
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM calls_callturn")
        (stored,) = cursor.fetchone()
    assert "secret" not in stored
    assert CallTurn.objects.get().text == "my secret plans"


@pytest.mark.django_db
def test_text_written_with_an_old_key_reads_after_rotation(call, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [old_key]
    CallTurn.objects.create(call=call, index=0, speaker=CallTurn.Speaker.PERSONA, text="hello there")
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [new_key, old_key]
    assert CallTurn.objects.get().text == "hello there"
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [new_key]
    with pytest.raises(ValueError):
        CallTurn.objects.get()


def test_rotate_reencrypts_with_the_newest_key(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [old_key]
    token = encryption.encrypt("words")
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [new_key, old_key]
    rotated = encryption.rotate(token)
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [new_key]
    assert encryption.decrypt(rotated) == "words"
