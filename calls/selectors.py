"""Read queries for calls: one person's history and usage, a call for its owner, the calls
the sweeper must look at, and the admin's per-call usage and per-day figures."""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDay, TruncMonth
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import User
from callmeback import cache
from callmeback.encryption import UNREADABLE_MESSAGE, UnreadableText
from callmeback.errors import NotFound, ValidationFailed
from callmeback.pagination import Page, PageRequest, paginate
from callmeback.validation import parse_uuid
from calls.models import Call, CallerIdNumber, CallRecording, CallTurn, CallUsage

logger = logging.getLogger(__name__)

HISTORY_CACHE_SECONDS = 30
PERSON_LABEL = "You"
MAX_USAGE_MONTHS = 24

SORTS = {
    "date_desc": ("-created_at", "-id"),
    "date_asc": ("created_at", "id"),
    "cost_desc": (F("cost_cents").desc(nulls_last=True), "-created_at", "-id"),
    "cost_asc": (F("cost_cents").asc(nulls_last=True), "-created_at", "-id"),
}
DEFAULT_SORT = "date_desc"

# The columns a history row shows: no transcript text, which stays encrypted in its table.
HISTORY_FIELDS = (
    "id",
    "user_id",
    "persona_id",
    "persona_name",
    "phone_number",
    "status",
    "start_time",
    "end_time",
    "duration",
    "cost_cents",
    "sid",
    "error_message",
    "created_at",
)


def calls_scope(user_id: uuid.UUID) -> str:
    """The cache scope of one person's call history and usage."""
    return f"calls:{user_id}"


def call_get_owned(*, user: User, call_id: object) -> Call:
    """The user's call; someone else's looks missing (404)."""
    parsed = parse_uuid(call_id)
    call = Call.objects.filter(pk=parsed, user=user).first() if parsed else None
    if call is None:
        raise NotFound("Call not found.")
    return call


def call_active(*, user: User) -> Call | None:
    """The person's call in progress, if any (at most one)."""
    return Call.objects.filter(user=user, status__in=Call.ACTIVE).first()


# A line of the call page's live transcript, as the voice stream publishes it.
TRANSCRIPT_LINE_FIELDS = ("index", "speaker", "text", "interrupted")


def call_transcript_lines(*, call: Call) -> list[dict]:
    """The turns stored so far, in order, as live-transcript lines (decrypted here): the call
    page joining late, or again after a reload, starts from these."""
    lines = list(call.turns.order_by("index").values(*TRANSCRIPT_LINE_FIELDS))
    transcript_readable(call.pk, (line["text"] for line in lines))
    return lines


def transcript_readable(call_id: uuid.UUID, texts: Iterable[str]) -> bool:
    """Whether every stored turn of the call could be decrypted. One that could not reads as
    the placeholder (`UnreadableText`) and is logged here, by the call's id only, so a key
    missing from `TRANSCRIPT_ENCRYPTION_KEYS` shows in the logs, not as a broken page."""
    if any(isinstance(text, UnreadableText) for text in texts):
        logger.warning("The transcript of call %s can't be read with the current keys", call_id)
        return False
    return True


def call_detail(*, user: User, call_id: object) -> Call:
    """The user's call with what its detail shows (hold, feedback, turns, recordings), in three queries."""
    parsed = parse_uuid(call_id)
    call = (
        Call.objects.filter(pk=parsed, user=user)
        .select_related("feedback", "authorization")
        .prefetch_related("turns", "recordings")
        .first()
        if parsed
        else None
    )
    if call is None:
        raise NotFound("Call not found.")
    return call


def recording_playable(*, call: Call) -> CallRecording | None:
    """The call's latest finished recording that has not been deleted."""
    return call.recordings.filter(status="completed", deleted_at__isnull=True).order_by("-created_at").first()


# --- History ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallFilters:
    status: str = ""
    sort: str = DEFAULT_SORT
    from_date: datetime | None = None
    to_date: datetime | None = None

    @classmethod
    def from_query(cls, params) -> "CallFilters":
        """Reads the query string of `GET /api/calls`; anything invalid is a VALIDATION_ERROR."""
        errors: dict[str, list[str]] = {}
        values: dict = {}
        status = (params.get("status") or "").strip()
        if status and status not in Call.Status.values:
            errors["status"] = [f"status must be one of: {', '.join(Call.Status.values)}."]
        values["status"] = status
        sort = (params.get("sort") or "").strip() or DEFAULT_SORT
        if sort not in SORTS:
            errors["sort"] = [f"sort must be one of: {', '.join(SORTS)}."]
        values["sort"] = sort
        for name, end_of_day in (("from_date", False), ("to_date", True)):
            raw = (params.get(name) or "").strip()
            if not raw:
                continue
            parsed = _parse_moment(raw, end_of_day=end_of_day)
            if parsed is None:
                errors[name] = [f"{name} must be an ISO 8601 date or date-time."]
            values[name] = parsed
        if not errors and values.get("from_date") and values.get("to_date") and values["from_date"] > values["to_date"]:
            errors["to_date"] = ["to_date must not be before from_date."]
        if errors:
            raise ValidationFailed(next(iter(errors.values()))[0], details=errors)
        return cls(**values)


def _parse_moment(raw: str, *, end_of_day: bool) -> datetime | None:
    """An ISO 8601 date-time (naive means UTC), or a date: its first or last instant."""
    try:
        moment = parse_datetime(raw.replace(" ", "+"))
        if moment is None:
            day = parse_date(raw)
            if day is None:
                return None
            moment = datetime.combine(day, datetime.min.time())
            if end_of_day:
                moment += timedelta(days=1) - timedelta(microseconds=1)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def call_list(*, user: User, filters: CallFilters) -> QuerySet:
    """The user's calls, filtered and sorted, as dicts of the columns a history row shows."""
    queryset = Call.objects.filter(user=user)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.from_date:
        queryset = queryset.filter(created_at__gte=filters.from_date)
    if filters.to_date:
        queryset = queryset.filter(created_at__lte=filters.to_date)
    return queryset.values(*HISTORY_FIELDS).order_by(*SORTS[filters.sort])


def call_page(*, user: User, filters: CallFilters, page: PageRequest) -> Page:
    """One page of the history: a count and a slice (two queries whatever the page size),
    cached 30 s per user until one of their calls changes."""
    key = cache.versioned_key("calls:history", (calls_scope(user.pk),), user.pk, filters, page)
    return cache.cached(key, HISTORY_CACHE_SECONDS, lambda: paginate(call_list(user=user, filters=filters), page))


def transcript_text(turns: list[CallTurn], persona_name: str) -> str | None:
    """The conversation as lines of "Speaker: words", None when nothing was said, or the
    placeholder when a turn can't be decrypted."""
    if not turns:
        return None
    if not transcript_readable(turns[0].call_id, (turn.text for turn in turns)):
        return UNREADABLE_MESSAGE
    labels = {CallTurn.Speaker.PERSONA: persona_name, CallTurn.Speaker.PERSON: PERSON_LABEL}
    return "\n".join(f"{labels.get(turn.speaker, turn.speaker)}: {turn.text}" for turn in turns)


def transcripts_for(*, rows: list[dict]) -> dict[uuid.UUID, str]:
    """The transcripts of a page's completed calls (only they were answered), in one query;
    decrypted here, never cached."""
    names = {row["id"]: row["persona_name"] for row in rows if row["status"] == Call.Status.COMPLETED}
    if not names:
        return {}
    turns: dict[uuid.UUID, list[CallTurn]] = {}
    for turn in CallTurn.objects.filter(call_id__in=list(names)).order_by("call_id", "index"):
        turns.setdefault(turn.call_id, []).append(turn)
    return {call_id: transcript_text(call_turns, names[call_id]) for call_id, call_turns in turns.items()}


# --- Usage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageFigures:
    calls: int
    seconds: int
    cents: int

    @property
    def minutes(self) -> int:
        """Talk time in whole minutes, rounded half up."""
        return (self.seconds + 30) // 60


@dataclass(frozen=True)
class MonthUsage:
    month: date
    figures: UsageFigures


@dataclass(frozen=True)
class Usage:
    total: UsageFigures
    months: list[MonthUsage]  # oldest first, the current month last

    @property
    def current_month(self) -> UsageFigures:
        return self.months[-1].figures


def usage_months_from_query(params, *, default: int = 3) -> int:
    raw = (params.get("months") or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_USAGE_MONTHS:
        raise ValidationFailed.for_field("months", f"months must be a whole number from 1 to {MAX_USAGE_MONTHS}.")
    return int(raw)


def _month_starts(today: date, months: int) -> list[date]:
    """The first day of each of the last `months` months, oldest first, this month last."""
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


_FIGURES = {
    "calls": Count("id"),
    "seconds": Coalesce(Sum("duration"), 0),
    "cents": Coalesce(Sum("cost_cents"), 0),
}


def user_usage(*, user: User, months: int) -> Usage:
    """Totals and one row per month for the last `months` months (empty ones included),
    summed by the database in two queries; cached with the history."""
    key = cache.versioned_key("calls:usage", (calls_scope(user.pk),), user.pk, months, timezone.now().date())
    return cache.cached(key, HISTORY_CACHE_SECONDS, lambda: _usage(user=user, months=months))


def _usage(*, user: User, months: int) -> Usage:
    calls = Call.objects.filter(user=user)
    total = UsageFigures(**calls.aggregate(**_FIGURES))
    starts = _month_starts(timezone.now().date(), months)
    since = datetime.combine(starts[0], datetime.min.time(), tzinfo=UTC)
    rows = (
        calls.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at", tzinfo=UTC))
        .values("month")
        .annotate(**_FIGURES)
        .order_by()
    )
    by_month = {row["month"].date(): UsageFigures(row["calls"], row["seconds"], row["cents"]) for row in rows}
    empty = UsageFigures(0, 0, 0)
    return Usage(total=total, months=[MonthUsage(start, by_month.get(start, empty)) for start in starts])


# --- Dialling and the sweeper -----------------------------------------------------------------


def caller_id_next_locked() -> CallerIdNumber | None:
    """The pool's least recently used active number, locked (call inside a transaction);
    numbers another transaction is taking are skipped, so concurrent dials spread out."""
    return (
        CallerIdNumber.objects.select_for_update(skip_locked=True)
        .filter(is_active=True)
        .order_by(F("last_used_at").asc(nulls_first=True), "created_at")
        .first()
    )


# How long Twilio may take to get an answer before the time limit starts to run.
RING_ALLOWANCE = timedelta(seconds=120)


def calls_unreported(*, now: datetime, grace: timedelta, dial_check: timedelta, limit: int = 100) -> list[Call]:
    """Active calls Twilio should have told us more about: a dial with no sid nor report
    `dial_check` after it, or no news for `grace` (a lost final callback, a call past its
    time limit or never dialled). Quietest first; at most one per person, so few rows."""
    undecided = Q(sid__isnull=True, twilio_status="", dial_attempted_at__lt=now - dial_check)
    quiet = Q(updated_at__lt=now - grace)
    return list(Call.objects.filter(undecided | quiet, status__in=Call.ACTIVE).order_by("updated_at")[:limit])


def calls_finished_unsettled(*, limit: int = 100) -> QuerySet:
    """Finished calls whose hold is neither captured nor released, nor being settled
    (a capture task that was lost)."""
    return (
        Call.objects.filter(status__in=Call.FINISHED, authorization__status="requires_capture")
        .select_related("authorization")
        .order_by("updated_at")[:limit]
    )


# --- The admin's figures ------------------------------------------------------------------------

_USAGE_ORDER = {kind: index for index, kind in enumerate(CallUsage.Kind.values)}


def call_usage_rows(*, call: Call) -> list[CallUsage]:
    """What the voice providers did for the call, in the order of a call's pipeline (STT, LLM, TTS)."""
    return sorted(call.usage.all(), key=lambda row: (_USAGE_ORDER[row.kind], row.unit))


@dataclass(frozen=True)
class CallDay:
    day: date
    calls: int
    completed: int
    seconds: int
    revenue_cents: int
    twilio_cost: Decimal
    voice_cost: Decimal


def calls_per_day(*, since: date) -> list[CallDay]:
    """Per UTC day since `since`, newest first: calls placed, completed, talk seconds, what
    people paid (finished calls' cost), what Twilio charged us and what the voice providers
    did (at the configured prices). Two queries: calls, and their usage rows."""
    rows = (
        Call.objects.filter(created_at__date__gte=since)
        .annotate(day=TruncDay("created_at"))
        .values("day")
        .annotate(
            calls=Count("id"),
            completed=Count("id", filter=Q(status=Call.Status.COMPLETED)),
            seconds=Sum("duration", default=0),
            cents=Sum("cost_cents", default=0),
            provider=Sum("provider_cost", default=Decimal(0)),
        )
        .order_by("-day")
    )
    voice = dict(
        CallUsage.objects.filter(call__created_at__date__gte=since)
        .annotate(day=TruncDay("call__created_at"))
        .values("day")
        .annotate(cost=Sum("cost", default=Decimal(0)))
        .values_list("day", "cost")
    )
    return [
        CallDay(
            day=row["day"].date(),
            calls=row["calls"],
            completed=row["completed"],
            seconds=row["seconds"],
            revenue_cents=row["cents"],
            twilio_cost=row["provider"],
            voice_cost=voice.get(row["day"], Decimal(0)),
        )
        for row in rows
    ]
