"""The dashboard's scheduled-calls page: book a call in the person's time zone, start a
series, see upcoming bookings (with their reminders and outcome), cancel, pause, resume.
The same services as the API."""

import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from callmeback.dashboard import run_action
from callmeback.errors import ApplicationError
from callmeback.ratelimit import enforce_rate_limit
from calls.scheduling import ratelimits, recurring, selectors, services
from calls.scheduling.forms import ScheduleForm, SeriesForm
from calls.scheduling.models import CallSeries, ScheduledCall


def _zone(user) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.timezone or "UTC")
    except zoneinfo.ZoneInfoNotFoundError:
        return zoneinfo.ZoneInfo("UTC")


def _book(request, form: ScheduleForm) -> bool:
    data = form.cleaned_data
    when = recurring.local_to_utc(data["local_time"].replace(tzinfo=None), _zone(request.user))
    return run_action(
        request,
        lambda: services.booking_create_on_default_card(
            user=request.user,
            estimated_duration=data["estimated_duration"],
            phone_number=data["phone_number"],
            persona_id=data["persona_id"],
            scheduled_time=when,
            call_pretext=data["call_pretext"],
        ),
        "Call booked.",
        limit=ratelimits.SCHEDULE_CREATE,
        form=form,
    )


def _start_series(request, form: SeriesForm) -> bool:
    data = form.cleaned_data
    return run_action(
        request,
        lambda: recurring.series_create(
            user=request.user,
            persona_id=data["persona_id"],
            phone_number=data["phone_number"],
            local_time=data["time_of_day"],
            weekdays=data["weekdays"],
            timezone_name=data["time_zone"],
            off_session_consent=data["off_session_consent"],
            end_date=data["end_date"],
            max_calls=data["max_calls"],
            estimated_duration=data["estimated_duration"],
            call_pretext=data["call_pretext"],
        ),
        "Series started.",
        limit=ratelimits.SERIES_CREATE,
        form=form,
    )


@login_required
@require_http_methods(["GET", "POST"])
def scheduled_page(request):
    user = request.user
    personas = selectors.personas_to_book(user=user)
    initial = {"phone_number": user.phone, "time_zone": user.timezone}
    schedule_form = ScheduleForm(initial=initial, personas=personas, prefix="schedule")
    series_form = SeriesForm(initial=initial, personas=personas, prefix="series")
    if request.method == "POST" and request.POST.get("form") == "schedule":
        schedule_form = ScheduleForm(request.POST, personas=personas, prefix="schedule")
        if schedule_form.is_valid() and _book(request, schedule_form):
            return redirect("scheduling:scheduled")
    elif request.method == "POST" and request.POST.get("form") == "series":
        series_form = SeriesForm(request.POST, personas=personas, prefix="series")
        if series_form.is_valid() and _start_series(request, series_form):
            return redirect("scheduling:scheduled")
    bookings = selectors.booking_list(user=user, sort="time_desc")[:100]
    context = {
        "schedule_form": schedule_form,
        "series_form": series_form,
        "bookings": bookings,
        "series_list": selectors.series_list(user=user),
        "zone": _zone(user),
        "now": timezone.now(),
        "cancel_cutoff": timezone.now() + settings.SCHEDULE_CANCEL_CUTOFF,
        "scheduled_status": ScheduledCall.Status.SCHEDULED,
    }
    return render(request, "scheduling/scheduled.html", context)


@login_required
@require_POST
def booking_cancel(request, booking_id):
    try:
        enforce_rate_limit(request, ratelimits.SCHEDULE_CANCEL)
        released = services.booking_cancel(booking_id=booking_id, user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        note = f" The ${released.amount_authorized / 100:.2f} hold on your card is released." if released else ""
        messages.success(request, f"Call cancelled.{note}")
    return redirect("scheduling:scheduled")


def _series_set_status(request, series_id, status: str) -> None:
    series = selectors.series_get_owned(user=request.user, series_id=series_id)
    if series is None:
        messages.error(request, "Series not found.")
        return
    try:
        enforce_rate_limit(request, ratelimits.SERIES_UPDATE)
        recurring.series_update(series=series, status=status)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Series paused." if status == CallSeries.Status.PAUSED else "Series resumed.")


@login_required
@require_POST
def series_pause(request, series_id):
    _series_set_status(request, series_id, CallSeries.Status.PAUSED)
    return redirect("scheduling:scheduled")


@login_required
@require_POST
def series_resume(request, series_id):
    _series_set_status(request, series_id, CallSeries.Status.ACTIVE)
    return redirect("scheduling:scheduled")
