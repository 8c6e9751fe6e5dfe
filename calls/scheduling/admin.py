"""Admin for booked calls and series: bookings by status with their lateness at dispatch,
and support's "dispatch now"."""

from django.contrib import admin, messages

from calls.scheduling import dispatch
from calls.scheduling.models import CallSeries, ScheduledCall


@admin.register(ScheduledCall)
class ScheduledCallAdmin(admin.ModelAdmin):
    list_display = [
        "scheduled_time",
        "persona_name",
        "masked_phone",
        "user",
        "status",
        "lateness",
        "reminded",
        "series",
    ]
    list_filter = ["status", "scheduled_time"]
    search_fields = ["user__email", "persona_name"]
    date_hierarchy = "scheduled_time"
    ordering = ["-scheduled_time"]
    list_select_related = ["user", "series"]
    actions = ["dispatch_now"]
    readonly_fields = [field.name for field in ScheduledCall._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Phone")
    def masked_phone(self, booking: ScheduledCall) -> str:
        return f"…{booking.phone_number[-4:]}"

    @admin.display(description="Late at dispatch", ordering="lateness_ms")
    def lateness(self, booking: ScheduledCall) -> str:
        return "" if booking.lateness_ms is None else f"{booking.lateness_ms / 1000:.1f} s"

    @admin.display(description="Reminded", boolean=True)
    def reminded(self, booking: ScheduledCall) -> bool:
        return booking.reminder_sms_sent_at is not None or booking.reminder_email_sent_at is not None

    @admin.action(description="Dispatch now (the next sweep places the call)")
    def dispatch_now(self, request, queryset) -> None:
        moved = sum(dispatch.booking_dispatch_now(booking=booking) for booking in queryset)
        skipped = queryset.count() - moved
        self.message_user(request, f"{moved} booking(s) will be placed within seconds.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} booking(s) were no longer waiting.", messages.WARNING)


@admin.register(CallSeries)
class CallSeriesAdmin(admin.ModelAdmin):
    list_display = ["user", "persona", "local_time", "timezone", "weekdays", "status", "calls_booked", "max_calls"]
    list_filter = ["status", "timezone"]
    search_fields = ["user__email"]
    list_select_related = ["user", "persona"]
    readonly_fields = ["off_session_consent_at", "calls_booked", "created_at", "updated_at"]
