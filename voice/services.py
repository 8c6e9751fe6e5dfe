"""Writes made by a live call: its stream opening and closing, the transcript turn by turn as it
is heard, and its hang-up."""

import secrets
import uuid
from collections.abc import Sequence

from django.utils import timezone

from accounts.models import User
from calls import services as call_services
from calls.models import Call, CallTurn
from personas.models import Persona
from voice.conversation import HeardTurn


def call_turns_record(*, call_id: str, turns: Sequence[HeardTurn]) -> None:
    """Stores heard turns (encrypted by the field). A turn already stored stays as it was, so a
    batch written twice after a retry changes nothing."""
    CallTurn.objects.bulk_create(
        [
            CallTurn(
                call_id=call_id,
                index=turn.index,
                speaker=turn.speaker,
                text=turn.text,
                interrupted=turn.interrupted,
                offset_ms=turn.offset_ms,
            )
            for turn in turns
        ],
        ignore_conflicts=True,
    )


ENDED_BY_REASON = {
    "persona": Call.EndedBy.PERSONA,
    "silence": Call.EndedBy.PERSONA,
    "time_limit": Call.EndedBy.TIME_LIMIT,
    "user": Call.EndedBy.USER,
    "admin": Call.EndedBy.ADMIN,
}


def call_hang_up(*, call_id: str, reason: str) -> None:
    """The conversation ended the call (a goodbye heard, silence, time, a provider failure):
    the line is cut at Twilio now; the status callback then settles the money."""
    call_services.call_hang_up(call_id=call_id, ended_by=ENDED_BY_REASON.get(reason, Call.EndedBy.SYSTEM))


def call_stream_opened(*, call_id: str, stream_sid: str) -> None:
    """The call has a live stream now: a hang-up from the app or an admin asks it for a
    goodbye instead of cutting the line at once."""
    Call.objects.filter(pk=call_id, status__in=Call.ACTIVE).update(live_stream_sid=stream_sid)


def call_stream_closed(*, call_id: str, stream_sid: str) -> None:
    """The stream is over; a newer stream of the same call keeps its own mark."""
    Call.objects.filter(pk=call_id, live_stream_sid=stream_sid).update(live_stream_sid="")


SIMULATED_CALL_SECONDS = 300


def call_simulation_create(*, email: str, persona: str) -> Call:
    """An in-progress call with a made-up Twilio SID and no hold, for `simulate_call` against a
    development server: no phone rings and no money moves."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        raise ValueError(f"No account with the email {email}.")
    chosen = _persona_by_id_or_name(persona)
    if chosen is None:
        raise ValueError(f"No persona {persona!r}.")
    return Call.objects.create(
        user=user,
        persona=chosen,
        persona_name=chosen.name,
        phone_number=user.phone,
        sid="CA" + secrets.token_hex(16),
        status=Call.Status.IN_PROGRESS,
        twilio_status="in-progress",
        authorized_seconds=SIMULATED_CALL_SECONDS,
        start_time=timezone.now(),
    )


def _persona_by_id_or_name(persona: str) -> Persona | None:
    try:
        return Persona.objects.filter(id=uuid.UUID(persona)).first()
    except ValueError:
        return Persona.objects.filter(name__iexact=persona).first()
