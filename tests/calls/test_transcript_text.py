"""The call's `transcript` string is rendered from its heard turns, in order."""

import pytest

from calls.models import Call, CallTurn
from personas.models import Persona


@pytest.mark.django_db
def test_transcript_text_lists_turns_in_order_with_who_spoke(user):
    persona = Persona.objects.filter(owner__isnull=True).first()
    call = Call.objects.create(user=user, persona=persona, persona_name=persona.name, phone_number=user.phone)
    CallTurn.objects.create(call=call, index=1, speaker=CallTurn.Speaker.PERSON, text="Fine, thanks.")
    CallTurn.objects.create(call=call, index=0, speaker=CallTurn.Speaker.PERSONA, text="Hi, how are you?")

    assert call.transcript_text() == f"{persona.name}: Hi, how are you?\nYou: Fine, thanks."


@pytest.mark.django_db
def test_transcript_text_is_empty_before_anyone_spoke(user):
    persona = Persona.objects.filter(owner__isnull=True).first()
    call = Call.objects.create(user=user, persona=persona, persona_name=persona.name, phone_number=user.phone)

    assert call.transcript_text() == ""
