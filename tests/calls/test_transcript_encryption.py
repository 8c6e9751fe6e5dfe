"""Transcripts are encrypted at rest; keys rotate without losing old text
(`rotate_transcript_keys`), and a row no key opens shows a placeholder instead of failing."""

import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from callmeback import encryption
from callmeback.encryption import UNREADABLE_MESSAGE, UnreadableText
from callmeback.keyring import derived_key, key_material
from calls import selectors
from calls.models import Call, CallTurn
from personas.models import Persona
from tests.conftest import client_for


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def call(user):
    persona = Persona.objects.filter(owner__isnull=True).first()
    return Call.objects.create(
        user=user, persona=persona, persona_name=persona.name, phone_number=user.phone, status=Call.Status.COMPLETED
    )


def say(call, index: int, text: str) -> CallTurn:
    speaker = CallTurn.Speaker.PERSON if index % 2 else CallTurn.Speaker.PERSONA
    return CallTurn.objects.create(call=call, index=index, speaker=speaker, text=text)


def stored_tokens() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute('SELECT text FROM calls_callturn ORDER BY "index"')
        return [row[0] for row in cursor.fetchall()]


def rotate(*arguments: str) -> str:
    out = StringIO()
    call_command("rotate_transcript_keys", *arguments, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_turn_text_is_stored_as_ciphertext(call):
    say(call, 0, "my secret plans")

    assert "secret" not in stored_tokens()[0]
    assert CallTurn.objects.get().text == "my secret plans"


@pytest.mark.django_db
def test_text_written_with_an_old_key_reads_while_that_key_is_listed(call, settings):
    old_key, newer_key = new_key(), new_key()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [old_key]
    say(call, 0, "hello there")
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [newer_key, old_key]
    assert CallTurn.objects.get().text == "hello there"

    settings.TRANSCRIPT_ENCRYPTION_KEYS = [newer_key]
    assert isinstance(CallTurn.objects.get().text, UnreadableText)


@pytest.mark.django_db
def test_text_written_with_the_derived_key_stays_readable_once_explicit_keys_are_set(call, settings):
    settings.TRANSCRIPT_ENCRYPTION_KEYS = []
    say(call, 0, "before any explicit key")

    settings.TRANSCRIPT_ENCRYPTION_KEYS = [new_key()]

    assert CallTurn.objects.get().text == "before any explicit key"


def test_explicit_keys_come_first_and_the_derived_one_last():
    first, second = new_key(), new_key()

    assert key_material(explicit=[first, second], secret_key="s3cret") == [first, second, derived_key("s3cret")]
    assert key_material(explicit=[], secret_key="s3cret") == [derived_key("s3cret")]


def test_rotate_reencrypts_with_the_newest_key(settings):
    old_key, newer_key = new_key(), new_key()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [old_key]
    token = encryption.encrypt("words")
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [newer_key, old_key]
    rotated = encryption.rotate(token)
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [newer_key]
    assert encryption.decrypt(rotated) == "words"


# --- rotate_transcript_keys ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_reencrypts_every_turn_with_the_newest_key_in_batches(call, settings):
    old_key, newer_key = new_key(), new_key()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [old_key]
    for index in range(5):
        say(call, index, f"secret line {index}")
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [newer_key, old_key]

    out = rotate("--batch-size", "2")

    assert [Fernet(newer_key).decrypt(token.encode()).decode() for token in stored_tokens()] == [
        f"secret line {index}" for index in range(5)
    ]
    turn_lines = [line for line in out.splitlines() if line.startswith("calls.CallTurn.text:")]
    assert turn_lines == [
        f"calls.CallTurn.text: {read} read, {read} re-encrypted, 0 already current, 0 unreadable" for read in (2, 4, 5)
    ] + ["calls.CallTurn.text: 5 read, 5 re-encrypted, 0 already current, 0 unreadable: done"]
    assert "secret" not in out
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [newer_key]
    assert [turn.text for turn in CallTurn.objects.order_by("index")] == [f"secret line {i}" for i in range(5)]


@pytest.mark.django_db
def test_the_command_moves_text_off_the_derived_key(call, settings):
    settings.TRANSCRIPT_ENCRYPTION_KEYS = []
    say(call, 0, "written before keys were set")
    explicit = new_key()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [explicit]

    rotate()

    assert Fernet(explicit).decrypt(stored_tokens()[0].encode()) == b"written before keys were set"


@pytest.mark.django_db
def test_running_the_command_again_skips_what_is_already_current(call, settings):
    old_key, newer_key = new_key(), new_key()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [old_key]
    say(call, 0, "one")
    say(call, 1, "two")
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [newer_key, old_key]
    rotate()
    tokens = stored_tokens()

    out = rotate()

    assert "2 read, 0 re-encrypted, 2 already current, 0 unreadable: done" in out
    assert stored_tokens() == tokens


@pytest.mark.django_db
def test_the_command_leaves_an_unreadable_row_as_it_is_and_says_so(call, settings, caplog):
    lost_key, newer_key = new_key(), new_key()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [lost_key]
    lost = say(call, 0, "nobody can read this")
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [newer_key]
    say(call, 1, "fine")
    before = stored_tokens()

    with caplog.at_level(logging.WARNING), pytest.raises(CommandError, match="1 row"):
        rotate()

    assert stored_tokens() == before
    assert str(lost.pk) in caplog.text
    assert "nobody" not in caplog.text


def test_the_command_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError, match="batch-size"):
        rotate("--batch-size", "0")


# --- a row no key opens -------------------------------------------------------------------------


@pytest.fixture
def unreadable_call(call, settings):
    """A finished call whose transcript was written with a key that is no longer configured."""
    lost_key = new_key()
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [lost_key]
    say(call, 0, "Hey you, it's me!")
    say(call, 1, "my secret plans")
    settings.TRANSCRIPT_ENCRYPTION_KEYS = [new_key()]
    return call


@pytest.mark.django_db
def test_a_corrupt_token_reads_as_the_placeholder(call):
    say(call, 0, "words")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE calls_callturn SET text = %s", ["gAAAAA-not-a-token"])

    assert CallTurn.objects.get().text == UNREADABLE_MESSAGE


@pytest.mark.django_db
def test_the_placeholder_is_never_written_over_the_token(unreadable_call):
    turn = CallTurn.objects.get(index=1)
    before = stored_tokens()

    with pytest.raises(ValueError), transaction.atomic():
        turn.save()

    assert stored_tokens() == before


@pytest.mark.django_db
def test_the_api_shows_the_placeholder_and_logs_the_call_id_only(unreadable_call, user, caplog):
    client = client_for(user)

    with caplog.at_level(logging.WARNING, logger="calls.selectors"):
        detail = client.get(f"/api/calls/{unreadable_call.pk}")
        history = client.get("/api/calls")

    assert detail.status_code == 200
    assert detail.json()["call"]["transcript"] == UNREADABLE_MESSAGE
    assert {turn["text"] for turn in detail.json()["call"]["turns"]} == {UNREADABLE_MESSAGE}
    assert history.status_code == 200
    assert history.json()["calls"][0]["transcript"] == UNREADABLE_MESSAGE
    assert str(unreadable_call.pk) in caplog.text
    assert "secret" not in caplog.text


@pytest.mark.django_db
def test_the_call_page_shows_the_placeholder(unreadable_call, user, client):
    client.force_login(user)

    response = client.get(f"/calls/{unreadable_call.pk}")

    assert response.status_code == 200
    assert UNREADABLE_MESSAGE.replace("'", "&#x27;") in response.content.decode()


@pytest.mark.django_db
def test_the_live_transcript_lines_show_the_placeholder(unreadable_call):
    lines = selectors.call_transcript_lines(call=unreadable_call)

    assert [line["text"] for line in lines] == [UNREADABLE_MESSAGE, UNREADABLE_MESSAGE]
