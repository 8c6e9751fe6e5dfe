"""Writes made by a live call: the transcript, turn by turn, as it is heard."""

from collections.abc import Sequence

from calls.models import Call, CallTurn
from calls.services import call_end
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
    """The conversation ended the call (goodbye, silence, time, a provider failure): hang up
    through Twilio like any other end; the status callback then settles the money."""
    call = Call.objects.get(id=call_id)
    call_end(call=call, ended_by=ENDED_BY_REASON.get(reason, Call.EndedBy.SYSTEM))
