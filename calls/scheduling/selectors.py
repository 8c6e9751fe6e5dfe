"""Read queries for scheduled calls and recurring series: what a person sees, and what the
dispatcher must look at next."""

import uuid
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from callmeback.validation import parse_uuid
from calls.scheduling.models import CallSeries, ScheduledCall
from personas import selectors as persona_selectors
from personas.models import Contact, Persona

BOOKING_SORTS = {"time_asc": ("scheduled_time", "id"), "time_desc": ("-scheduled_time", "-id")}


def booking_list(*, user: User, status: str | None = None, sort: str = "time_asc") -> QuerySet[ScheduledCall]:
    """The person's bookings, oldest time first by default; `status` filters on the stored status."""
    bookings = ScheduledCall.objects.filter(user=user).select_related("authorization", "call", "series")
    if status:
        bookings = bookings.filter(status=status)
    return bookings.order_by(*BOOKING_SORTS[sort])


def booking_get(*, booking_id: object) -> ScheduledCall | None:
    parsed = parse_uuid(booking_id)
    if parsed is None:
        return None
    return ScheduledCall.objects.select_related("authorization", "call", "series").filter(pk=parsed).first()


def booking_active_count(*, user: User) -> int:
    return ScheduledCall.objects.filter(user=user, status__in=ScheduledCall.ACTIVE).count()


def booking_next_active_time(*, user: User) -> datetime | None:
    """When the person's next waiting booking rings (and frees a place)."""
    return (
        ScheduledCall.objects.filter(user=user, status__in=ScheduledCall.ACTIVE)
        .order_by("scheduled_time")
        .values_list("scheduled_time", flat=True)
        .first()
    )


def persona_has_active_bookings(*, persona_id: uuid.UUID) -> bool:
    """A persona some booking or running series will still call with."""
    return (
        ScheduledCall.objects.filter(persona_id=persona_id, status__in=ScheduledCall.ACTIVE).exists()
        or CallSeries.objects.filter(persona_id=persona_id).exclude(status=CallSeries.Status.ENDED).exists()
    )


def personas_to_book(*, user: User) -> QuerySet[Persona]:
    """The personas the booking forms offer: the person's contacts first, then the rest of
    what they may call, by name."""
    in_contacts = Contact.objects.filter(user=user, persona=OuterRef("pk"))
    return (
        persona_selectors.visible_to(Persona.objects.all(), user)
        .annotate(is_contact=Exists(in_contacts))
        .order_by("-is_contact", Lower("name"))
    )


def series_list(*, user: User) -> QuerySet[CallSeries]:
    return CallSeries.objects.filter(user=user).select_related("persona").order_by("-created_at")


def series_get_owned(*, user: User, series_id: object) -> CallSeries | None:
    """Another person's series is simply not found."""
    parsed = parse_uuid(series_id)
    if parsed is None:
        return None
    return CallSeries.objects.select_related("persona").filter(pk=parsed, user=user).first()


def series_next_booking(*, series: CallSeries) -> ScheduledCall | None:
    return series.bookings.filter(status__in=ScheduledCall.ACTIVE).order_by("scheduled_time").first()


def series_active() -> QuerySet[CallSeries]:
    return CallSeries.objects.filter(status=CallSeries.Status.ACTIVE).select_related("user", "persona")


def bookings_upcoming_for_series(*, series: CallSeries, after: datetime) -> QuerySet[ScheduledCall]:
    """Future bookings of a series that may still be cancelled (after the cut-off)."""
    return series.bookings.filter(status=ScheduledCall.Status.SCHEDULED, scheduled_time__gt=after)
