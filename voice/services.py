"""Writes made by a live call: its stream opening and closing, the transcript turn by turn
as it is heard, its hang-up, and at its end what the voice providers did for it."""

import logging
import secrets
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import User
from callmeback.validation import parse_uuid
from calls import tasks as call_tasks
from calls.models import Call, CallTurn, CallUsage
from calls.services import ending
from personas.models import Persona
from voice.audio import SAMPLE_RATE
from voice.engine.call import HeardTurn
from voice.engine.metrics import ProviderUsage
from voice.providers import Providers

COST_PLACES = Decimal("0.000001")  # CallUsage.cost
QUANTITY_PLACES = Decimal("0.001")  # CallUsage.quantity

logger = logging.getLogger(__name__)


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


def call_usage_record(*, call_id: str, usage: ProviderUsage, providers: Providers, llm_model: str) -> None:
    """Stores, once the stream has ended, one row per provider and unit, priced from the
    settings. LLM tokens the server never reported stay unknown: the rows count those
    requests instead of guessing their tokens. A local stand-in costs nothing, so nothing of
    its cost is unknown. A call has one media stream; rows already stored for it stay."""
    llm = providers.llm.label if providers.is_local["llm"] else llm_model
    tokens_known = usage.llm_reported > 0 or usage.llm_requests == 0
    unreported = usage.llm_requests - usage.llm_reported
    rows = [
        CallUsage(
            kind=CallUsage.Kind.STT,
            provider=providers.stt.label,
            unit=CallUsage.Unit.SECONDS,
            quantity=Decimal(usage.stt_audio_bytes) / SAMPLE_RATE,
        ),
        CallUsage(
            kind=CallUsage.Kind.LLM,
            provider=llm,
            unit=CallUsage.Unit.INPUT_TOKENS,
            quantity=Decimal(usage.llm_input_tokens) if tokens_known else None,
            unreported=unreported,
        ),
        CallUsage(
            kind=CallUsage.Kind.LLM,
            provider=llm,
            unit=CallUsage.Unit.OUTPUT_TOKENS,
            quantity=Decimal(usage.llm_output_tokens) if tokens_known else None,
            unreported=unreported,
        ),
        CallUsage(
            kind=CallUsage.Kind.TTS,
            provider=providers.tts.label,
            unit=CallUsage.Unit.CHARACTERS,
            quantity=Decimal(usage.tts_characters),
        ),
    ]
    for row in rows:
        row.call_id = call_id
        row.provider = row.provider[:100]
        if providers.is_local[row.kind]:
            row.cost, row.unreported = Decimal(0), 0
        else:
            row.cost = _usage_cost(unit=row.unit, quantity=row.quantity)
        if row.quantity is not None:
            row.quantity = row.quantity.quantize(QUANTITY_PLACES)
    CallUsage.objects.bulk_create(rows, ignore_conflicts=True)


def _usage_cost(*, unit: str, quantity: Decimal | None) -> Decimal | None:
    """What `quantity` of `unit` costs us at the configured price, in US dollars; None when unknown."""
    if quantity is None:
        return None
    price, per = {
        CallUsage.Unit.SECONDS: (settings.DEEPGRAM_PRICE_PER_MINUTE, 60),
        CallUsage.Unit.INPUT_TOKENS: (settings.LLM_PRICE_PER_MILLION_INPUT_TOKENS, 1_000_000),
        CallUsage.Unit.OUTPUT_TOKENS: (settings.LLM_PRICE_PER_MILLION_OUTPUT_TOKENS, 1_000_000),
        CallUsage.Unit.CHARACTERS: (settings.ELEVENLABS_PRICE_PER_THOUSAND_CHARACTERS, 1000),
    }[unit]
    return (quantity * price / per).quantize(COST_PLACES)


ENDED_BY_REASON = {
    "persona": Call.EndedBy.PERSONA,
    "silence": Call.EndedBy.PERSONA,
    "time_limit": Call.EndedBy.TIME_LIMIT,
    "user": Call.EndedBy.USER,
    "admin": Call.EndedBy.ADMIN,
}


def call_stream_hang_up(*, call_id: str, reason: str) -> None:
    """The conversation ended the call (a goodbye heard, silence, time, a provider failure):
    who ended it is recorded now, and a task cuts the line at Twilio, so a Twilio slow to
    answer holds up a worker, never the process carrying the live calls. The status
    callback then settles the money. If the task cannot be queued (the broker is down),
    the line is cut from here rather than left open."""
    call = ending.call_ender_record(call_id=call_id, ended_by=ENDED_BY_REASON.get(reason, Call.EndedBy.SYSTEM))
    if call is None or not call.is_active:
        return
    try:
        call_tasks.hang_up_after_goodbye.delay(str(call.pk))
    except OperationalError:
        logger.warning("Call %s: the hang-up could not be queued; hanging up from the stream", call.pk)
        ending.call_hang_up(call_id=call.pk)


def call_stream_claim(*, call_id: str, stream_sid: str) -> bool:
    """Gives the active call its one media stream; False when it already has one (a second
    stream for the same call, such as a replayed `start`, is refused)."""
    return Call.objects.filter(pk=call_id, status__in=Call.ACTIVE, stream_sid="").update(stream_sid=stream_sid) == 1


def call_stream_opened(*, call_id: str, stream_sid: str) -> None:
    """The call has a live stream now: a hang-up from the app or an admin asks it for a
    goodbye instead of cutting the line at once."""
    Call.objects.filter(pk=call_id, status__in=Call.ACTIVE).update(live_stream_sid=stream_sid)


def call_stream_closed(*, call_id: str, stream_sid: str) -> None:
    """The stream is over; a newer stream of the same call keeps its own mark."""
    Call.objects.filter(pk=call_id, live_stream_sid=stream_sid).update(live_stream_sid="")


SIMULATED_CALL_SECONDS = 300


def call_simulation_create(*, email: str, persona: str) -> Call:
    """The simulated call `simulate_call` streams against a development server, stored, for the
    account with `email` and the persona with that id or name."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        raise ValueError(f"No account with the email {email}.")
    chosen = _persona_by_id_or_name(persona)
    if chosen is None:
        raise ValueError(f"No persona {persona!r}.")
    call = call_simulation_build(user=user, persona=chosen, authorized_seconds=SIMULATED_CALL_SECONDS)
    call.save(force_insert=True)
    return call


def call_simulation_build(*, user: User, persona: Persona, authorized_seconds: int) -> Call:
    """An unsaved in-progress call with a made-up Twilio SID and no hold, as `simulate_call` and
    the voice benchmark open them: a media stream can run against it, yet no phone rings and no
    money moves."""
    return Call(
        user=user,
        persona=persona,
        persona_name=persona.name,
        phone_number=user.phone,
        sid="CA" + secrets.token_hex(16),
        status=Call.Status.IN_PROGRESS,
        twilio_status="in-progress",
        authorized_seconds=authorized_seconds,
        start_time=timezone.now(),
    )


def _persona_by_id_or_name(persona: str) -> Persona | None:
    persona_id = parse_uuid(persona)
    if persona_id is not None:
        return Persona.objects.filter(id=persona_id).first()
    return Persona.objects.filter(name__iexact=persona).first()
