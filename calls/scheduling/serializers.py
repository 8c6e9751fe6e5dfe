"""Request and response shapes for booked calls (`000_*` §2.3-2.5) and recurring series."""

from django.utils import timezone
from rest_framework import serializers

from billing import pricing
from calls.scheduling import selectors, services
from calls.scheduling.models import CallSeries, ScheduledCall


class OffsetDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit offset (`Z` or `+02:00`): a bare local time is ambiguous."""

    default_error_messages = {"offset": "Give the time in ISO 8601 with its UTC offset, e.g. 2024-01-02T15:00:00Z."}

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("offset")
        return super().enforce_timezone(value)


class ScheduleInput(serializers.Serializer):
    phone_number = serializers.CharField(max_length=32)
    persona_id = serializers.CharField(max_length=64)
    scheduled_time = OffsetDateTimeField()
    payment_intent_id = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    scenario_template_id = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    call_pretext = serializers.CharField(max_length=1000, required=False, allow_blank=True, trim_whitespace=False)


class ScheduledCallOutput(serializers.ModelSerializer):
    user_id = serializers.UUIDField()
    persona_id = serializers.UUIDField(allow_null=True)
    scenario_template_id = serializers.UUIDField(allow_null=True)
    series_id = serializers.UUIDField(allow_null=True)
    call_id = serializers.UUIDField(allow_null=True)
    estimated_cost = serializers.SerializerMethodField(help_text="Dollars: what the hold was sized for.")
    reminder_sent = serializers.SerializerMethodField()

    class Meta:
        model = ScheduledCall
        fields = [
            "id",
            "user_id",
            "persona_id",
            "persona_name",
            "scenario_template_id",
            "phone_number",
            "scheduled_time",
            "status",
            "created_at",
            "estimated_cost",
            "series_id",
            "call_id",
            "failure_reason",
            "reminder_sent",
        ]

    def get_estimated_cost(self, booking: ScheduledCall) -> float:
        return services.estimated_cost(booking)

    def get_reminder_sent(self, booking: ScheduledCall) -> bool:
        return booking.reminder_sms_sent_at is not None or booking.reminder_email_sent_at is not None


class ScheduledCallEnvelope(serializers.Serializer):
    scheduled_call = ScheduledCallOutput()


class ScheduledCallListOutput(serializers.Serializer):
    scheduled_calls = ScheduledCallOutput(many=True)


class ScheduledListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ScheduledCall.Status.values, required=False)
    sort = serializers.ChoiceField(choices=["time_asc", "time_desc"], default="time_asc")


class ScheduledCallRefundOutput(serializers.Serializer):
    amount = serializers.FloatField(help_text="Dollars that were held and are now released.")
    status = serializers.CharField(help_text="`released`: the hold was cancelled, nothing was charged.")
    refund_id = serializers.CharField(help_text="The released PaymentIntent (`pi_...`).")


class ScheduledCallCancelOutput(serializers.Serializer):
    message = serializers.CharField()
    refund = ScheduledCallRefundOutput(allow_null=True)


class SeriesInput(serializers.Serializer):
    persona_id = serializers.CharField(max_length=64)
    phone_number = serializers.CharField(max_length=32)
    local_time = serializers.TimeField(help_text="HH:MM in `timezone`.")
    weekdays = serializers.ListField(child=serializers.IntegerField(), help_text="ISO weekdays, 1 = Monday.")
    timezone = serializers.CharField(max_length=64, source="timezone_name")
    off_session_consent = serializers.BooleanField(
        help_text="The person agrees to a hold on their default card before each call."
    )
    end_date = serializers.DateField(required=False, allow_null=True)
    max_calls = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    estimated_duration = serializers.IntegerField(
        required=False, min_value=pricing.MIN_ESTIMATE_MINUTES, max_value=pricing.MAX_ESTIMATE_MINUTES
    )
    scenario_template_id = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    call_pretext = serializers.CharField(max_length=1000, required=False, allow_blank=True, trim_whitespace=False)


class SeriesUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=[CallSeries.Status.ACTIVE, CallSeries.Status.PAUSED], required=False)
    local_time = serializers.TimeField(required=False)
    weekdays = serializers.ListField(child=serializers.IntegerField(), required=False)
    timezone = serializers.CharField(max_length=64, required=False, source="timezone_name")
    end_date = serializers.DateField(required=False)


class SeriesOutput(serializers.ModelSerializer):
    persona_id = serializers.UUIDField()
    persona_name = serializers.CharField(source="persona.name")
    scenario_template_id = serializers.UUIDField(allow_null=True)
    local_time = serializers.TimeField(format="%H:%M")
    next_call_at = serializers.SerializerMethodField()

    class Meta:
        model = CallSeries
        fields = [
            "id",
            "persona_id",
            "persona_name",
            "scenario_template_id",
            "phone_number",
            "local_time",
            "weekdays",
            "timezone",
            "end_date",
            "max_calls",
            "calls_booked",
            "estimated_duration",
            "status",
            "off_session_consent_at",
            "next_call_at",
            "created_at",
        ]

    def get_next_call_at(self, series: CallSeries) -> str | None:
        booking = selectors.series_next_booking(series=series)
        return serializers.DateTimeField().to_representation(booking.scheduled_time) if booking else None


class SeriesEnvelope(serializers.Serializer):
    series = SeriesOutput()


class SeriesListOutput(serializers.Serializer):
    series = SeriesOutput(many=True)
