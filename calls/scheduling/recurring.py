"""Recurring series (`003_*`): a local time of day on chosen weekdays, turned into ordinary
bookings a day ahead, each with its own off-session hold."""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil import rrule
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.validators import clean_timezone
from billing import pricing
from billing import selectors as billing_selectors
from billing.errors import NoPaymentMethod, StripeServiceError
from billing.models import PaymentAuthorization
from callmeback.errors import ValidationFailed
from calls.scheduling import selectors
from calls.scheduling.models import CallSeries, ScheduledCall
from calls.scheduling.services import (
    close_without_call,
    local_time_text,
    notify_person,
    off_session_intent,
    off_session_place,
    release_later,
    take_hold,
)
from calls.services import placing

logger = logging.getLogger(__name__)

Status = ScheduledCall.Status


def local_to_utc(local: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """A wall-clock time in `zone` as UTC. A time skipped by a clock change rings at the next
    minute that exists; a repeated one rings at its first occurrence (fold 0)."""
    candidate = local
    while True:
        aware = candidate.replace(tzinfo=zone, fold=0)
        utc = aware.astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == candidate:
            return utc
        candidate += timedelta(minutes=1)


def series_occurrences(*, series: CallSeries, after: datetime, before: datetime) -> list[datetime]:
    """The series' call times (UTC) in `(after, before]`, computed on the local wall clock
    with `dateutil.rrule`, so 07:00 stays 07:00 across daylight-saving changes."""
    zone = zoneinfo.ZoneInfo(series.timezone)
    start = datetime.combine(series.starts_on, series.local_time)
    until = datetime.combine(series.end_date, time.max) if series.end_date else None
    rule = rrule.rrule(
        rrule.WEEKLY,
        dtstart=start,
        byweekday=[day - 1 for day in sorted(series.weekdays)],
        until=until,
    )
    # Local search window one day wider than the UTC one on each side (offsets are < 1 day).
    local_after = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    local_before = before.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    times = [local_to_utc(local, zone) for local in rule.between(local_after, local_before, inc=True)]
    return [moment for moment in times if after < moment <= before]


def _clean_weekdays(weekdays: list[int]) -> list[int]:
    days = sorted(set(weekdays or []))
    if not days or any(not isinstance(day, int) or not 1 <= day <= 7 for day in days):
        raise ValidationFailed.for_field("weekdays", "Give one or more ISO weekdays, 1 (Monday) to 7 (Sunday).")
    return days


def _clean_timezone(name: str) -> str:
    try:
        return clean_timezone(name)
    except DjangoValidationError as error:
        raise ValidationFailed.for_field("timezone", error.messages[0]) from None


def series_create(
    *,
    user: User,
    persona_id: object,
    phone_number: str,
    local_time: time,
    weekdays: list[int],
    timezone_name: str,
    off_session_consent: bool,
    end_date: date | None = None,
    max_calls: int | None = None,
    estimated_duration: int = 5,
    scenario_template_id: object | None = None,
    call_pretext: str = "",
) -> CallSeries:
    """Starts a recurring series and books what falls within the next day. Each occurrence
    is held off-session on the default card, so the person's consent is required and recorded."""
    if not off_session_consent:
        raise ValidationFailed.for_field(
            "off_session_consent", "Agree to a hold being placed on your default card before each call."
        )
    request = placing.call_request_validate(
        user=user,
        phone_number=phone_number,
        persona_id=persona_id,
        scenario_template_id=scenario_template_id,
        call_pretext=call_pretext,
    )
    zone_name = _clean_timezone(timezone_name)
    if not pricing.MIN_ESTIMATE_MINUTES <= estimated_duration <= pricing.MAX_ESTIMATE_MINUTES:
        raise ValidationFailed.for_field("estimated_duration", "Between 1 and 30 minutes.")
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(zone_name)).date()
    if end_date is not None and end_date < today:
        raise ValidationFailed.for_field("end_date", "The end date has passed.")
    if max_calls is not None and max_calls < 1:
        raise ValidationFailed.for_field("max_calls", "At least one call.")
    if billing_selectors.default_payment_method(user=user) is None:
        raise NoPaymentMethod()
    now = timezone.now()
    # The series and the intents of its first holds commit together; Stripe is asked after.
    with transaction.atomic():
        series = _series_row_create(
            user=user,
            request=request,
            local_time=local_time,
            weekdays=weekdays,
            zone_name=zone_name,
            end_date=end_date,
            max_calls=max_calls,
            estimated_duration=estimated_duration,
            today=today,
        )
        claims = _series_claim(series=series, now=now)
    try:
        _series_place_claims(series=series, claims=claims, now=now)
    except StripeServiceError:
        # The series and its holds' intents are saved: the beat places them, with the same keys.
        logger.warning("Stripe unavailable placing the first holds of series %s; will retry", series.pk)
    return series


def _series_row_create(
    *,
    user: User,
    request: placing.CallRequest,
    local_time: time,
    weekdays: list[int],
    zone_name: str,
    end_date: date | None,
    max_calls: int | None,
    estimated_duration: int,
    today: date,
) -> CallSeries:
    return CallSeries.objects.create(
        user=user,
        persona=request.persona,
        scenario_template=request.scenario_template,
        call_pretext=request.call_pretext,
        phone_number=request.phone_number,
        local_time=local_time.replace(second=0, microsecond=0),
        weekdays=_clean_weekdays(weekdays),
        timezone=zone_name,
        end_date=end_date,
        max_calls=max_calls,
        estimated_duration=estimated_duration,
        starts_on=today,
        off_session_consent_at=timezone.now(),
    )


# The fields whose change moves the series' call times.
_TIMING_FIELDS = frozenset({"local_time", "weekdays", "timezone", "end_date"})


def series_update(
    *,
    series: CallSeries,
    status: str | None = None,
    local_time: time | None = None,
    weekdays: list[int] | None = None,
    timezone_name: str | None = None,
    end_date: date | None = None,
) -> CallSeries:
    """Pauses, resumes or re-times a series. Bookings it already made that no longer fit
    (all of them on pause) are cancelled and released, except those inside the cut-off.

    The beat books and ends series meanwhile, so the change is applied to the row re-read
    under its lock and only the fields that changed are written: an edit made from an older
    read never rolls back `calls_booked` nor revives an ended series. Returns the fresh row."""
    if status is not None and status not in (CallSeries.Status.ACTIVE, CallSeries.Status.PAUSED):
        raise ValidationFailed.for_field("status", "Use active or paused.")
    wanted: dict[str, object] = {}
    if local_time is not None:
        wanted["local_time"] = local_time.replace(second=0, microsecond=0)
    if weekdays is not None:
        wanted["weekdays"] = _clean_weekdays(weekdays)
    if timezone_name is not None:
        wanted["timezone"] = _clean_timezone(timezone_name)
    if end_date is not None:
        wanted["end_date"] = end_date
    if status is not None:
        wanted["status"] = status
    with transaction.atomic():
        locked = CallSeries.objects.select_for_update().get(pk=series.pk)
        if locked.status == CallSeries.Status.ENDED:
            raise ValidationFailed.for_field("status", "This series has ended.")
        changed = [field for field, value in wanted.items() if getattr(locked, field) != value]
        for field in changed:
            setattr(locked, field, wanted[field])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
    if _TIMING_FIELDS.intersection(changed) or locked.status == CallSeries.Status.PAUSED:
        _series_cancel_upcoming(series=locked)
    if locked.status == CallSeries.Status.ACTIVE:
        series_book_upcoming(series=locked)
    return locked


def series_end(*, series: CallSeries) -> CallSeries:
    """Stops a series for good; its bookings outside the cut-off are cancelled and released.
    Only the status is written, on the row re-read under its lock. Returns the fresh row."""
    with transaction.atomic():
        locked = CallSeries.objects.select_for_update().get(pk=series.pk)
        if locked.status != CallSeries.Status.ENDED:
            locked.status = CallSeries.Status.ENDED
            locked.save(update_fields=["status", "updated_at"])
    _series_cancel_upcoming(series=locked)
    return locked


def _series_cancel_upcoming(*, series: CallSeries) -> None:
    after = timezone.now() + settings.SCHEDULE_CANCEL_CUTOFF
    for booking in selectors.bookings_upcoming_for_series(series=series, after=after):
        with transaction.atomic():
            locked = ScheduledCall.objects.select_for_update().get(pk=booking.pk)
            if locked.status != Status.SCHEDULED:
                continue
            close_without_call(locked, status=Status.CANCELLED, reason="The series changed.")
            locked.cancelled_at = timezone.now()
            locked.save(update_fields=["cancelled_at"])
            CallSeries.objects.filter(pk=series.pk, calls_booked__gt=0).update(calls_booked=F("calls_booked") - 1)
            release_later(locked.authorization)


def series_book_upcoming(*, series: CallSeries, now: datetime | None = None) -> list[ScheduledCall]:
    """Books the series' occurrences from the booking lead up to `SCHEDULE_SERIES_HORIZON`
    ahead, each once (a unique constraint on series and time), each with its own
    off-session hold. A hold the card refuses leaves a `payment_failed` booking and tells
    the person. A series past its end date or cap ends.

    Claim, then act: the holds' intents are recorded under the series' lock, keyed by the
    series and the moment (the same on every retry, so a retry after a crash adopts the
    hold Stripe placed instead of placing a second), and committed; Stripe is asked with
    no lock held; each booking is made under the lock again with what Stripe answered."""
    now = now or timezone.now()
    with transaction.atomic():
        claims = _series_claim(series=series, now=now)
    return _series_place_claims(series=series, claims=claims, now=now)


@dataclass(frozen=True)
class _Claim:
    moment: datetime
    intent: PaymentAuthorization | None = None
    booking: ScheduledCall | None = None  # made at once: there was no card to hold


def _series_claim(*, series: CallSeries, now: datetime) -> list[_Claim]:
    """Under the series' lock (in the caller's transaction): the occurrences to book and their
    holds' intents. A person with no card gets their `payment_failed` bookings here."""
    times = series_occurrences(
        series=series, after=now + settings.SCHEDULE_MIN_LEAD, before=now + settings.SCHEDULE_SERIES_HORIZON
    )
    locked = CallSeries.objects.select_for_update().select_related("user", "persona").get(pk=series.pk)
    if locked.status != CallSeries.Status.ACTIVE:
        return []
    claims: list[_Claim] = []
    for moment in times:
        if locked.max_calls is not None and locked.calls_booked + len(claims) >= locked.max_calls:
            break
        occurrence = ScheduledCall.objects.filter(series=locked, scheduled_time=moment)
        if occurrence.exclude(status=Status.CANCELLED).exists():
            continue
        # A moment booked and cancelled before (a pause) gets a fresh hold, not the released one.
        key = f"series-{locked.pk}-{moment:%Y%m%dT%H%MZ}-{occurrence.count()}"
        try:
            intent = off_session_intent(user=locked.user, estimated_duration=locked.estimated_duration, key=key)
        except NoPaymentMethod as error:
            claims.append(_Claim(moment, booking=_series_book_one(series=locked, moment=moment, problem=error.message)))
            continue
        claims.append(_Claim(moment, intent=intent))
    return claims


def _series_place_claims(*, series: CallSeries, claims: list[_Claim], now: datetime) -> list[ScheduledCall]:
    """Asks Stripe for each claimed hold with no lock held, then books each occurrence."""
    booked = [claim.booking for claim in claims if claim.booking is not None]
    for claim in claims:
        if claim.intent is None:
            continue
        hold, problem = off_session_place(claim.intent)
        if hold is not None and hold.status == PaymentAuthorization.Status.CREATING:
            continue  # another worker is placing it; a later run books it
        booking = _series_record(series=series, moment=claim.moment, hold=hold, problem=problem)
        if booking is not None:
            booked.append(booking)
    series.refresh_from_db()
    _series_end_if_done(series=series, now=now)
    return booked


def _series_record(
    *, series: CallSeries, moment: datetime, hold: PaymentAuthorization | None, problem: str
) -> ScheduledCall | None:
    """Under the series' lock again: books the occurrence with its hold, unless the series
    stopped, reached its cap or booked that moment meanwhile (then the hold is released)."""
    with transaction.atomic():
        locked = CallSeries.objects.select_for_update().select_related("user", "persona").get(pk=series.pk)
        capped = locked.max_calls is not None and locked.calls_booked >= locked.max_calls
        taken = ScheduledCall.objects.filter(series=locked, scheduled_time=moment).exclude(status=Status.CANCELLED)
        if locked.status != CallSeries.Status.ACTIVE or capped or taken.exists():
            release_later(hold)
            return None
        hold, problem = take_hold(hold, problem)
        return _series_book_one(series=locked, moment=moment, hold=hold, problem=problem)


def _series_book_one(
    *, series: CallSeries, moment: datetime, hold: PaymentAuthorization | None = None, problem: str = ""
) -> ScheduledCall:
    """One occurrence as an ordinary booking on `hold`, or `payment_failed` with `problem`
    (the caller holds the series' row lock)."""
    booking = ScheduledCall(
        user=series.user,
        persona=series.persona,
        persona_name=series.persona.name,
        scenario_template=series.scenario_template,
        call_pretext=series.call_pretext,
        phone_number=series.phone_number,
        scheduled_time=moment,
        series=series,
        estimated_duration=series.estimated_duration,
        off_session_consent_at=series.off_session_consent_at,
        authorization=hold,
    )
    if problem:
        booking.status = Status.PAYMENT_FAILED
        booking.failure_reason = problem[:300]
    booking.save()
    CallSeries.objects.filter(pk=series.pk).update(calls_booked=F("calls_booked") + 1)
    if problem:
        notify_person(
            booking=booking,
            subject="Your scheduled call needs a card",
            text=f"We could not hold the payment for your call with {booking.persona_name} at "
            f"{local_time_text(booking)}: {problem} That call will not be placed. Re-authorise in the dashboard:",
        )
    return booking


def _series_end_if_done(*, series: CallSeries, now: datetime) -> None:
    capped = series.max_calls is not None and series.calls_booked >= series.max_calls
    past_end = bool(series.end_date) and not series_occurrences(
        series=series, after=now, before=now + settings.SCHEDULE_MAX_AHEAD
    )
    if series.status == CallSeries.Status.ACTIVE and (capped or past_end):
        CallSeries.objects.filter(pk=series.pk, status=CallSeries.Status.ACTIVE).update(status=CallSeries.Status.ENDED)
        series.refresh_from_db()


def series_book_all(*, now: datetime | None = None) -> int:
    """Beat: books the next day of every active series. Returns how many bookings were made;
    one series failing (Stripe down) does not stop the others."""
    made = 0
    for series in selectors.series_active():
        try:
            made += len(series_book_upcoming(series=series, now=now))
        except StripeServiceError:
            logger.warning("Stripe unavailable booking series %s; will retry", series.pk)
    return made
