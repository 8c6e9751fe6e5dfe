"""Request and response shapes of the calls API (`000_*` §2.1, §2.2, §5.2; `002_*` §3).

Costs are dollars, as the spec writes them (`"cost": 2.45`); `null` until a call has one.
"""

from datetime import UTC, datetime

from rest_framework import serializers

from billing import pricing
from calls import selectors
from calls.models import Call, CallTurn


def _iso(moment: datetime | None) -> str | None:
    """As DRF writes a UTC date-time: ISO 8601 with `Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dollars(cents: int | None) -> float | None:
    return pricing.cents_to_dollars(cents) if cents is not None else None


class PlaceCallInput(serializers.Serializer):
    phone_number = serializers.CharField(max_length=32, help_text="E.164, e.g. +15551234567; a verified number.")
    persona_id = serializers.CharField(max_length=64)
    payment_intent_id = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="A held `pi_...` from create-intent."
    )
    scenario_template_id = serializers.CharField(max_length=64, required=False, allow_null=True, default=None)
    call_pretext = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default="", help_text="At most 1000 characters."
    )


class PlacedCallOutput(serializers.Serializer):
    id = serializers.UUIDField()
    sid = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    persona_id = serializers.UUIDField(allow_null=True)
    phone_number = serializers.CharField()
    created_at = serializers.DateTimeField()
    estimated_cost = serializers.SerializerMethodField()

    def get_estimated_cost(self, call: Call) -> float | None:
        authorization = call.authorization
        return _dollars(pricing.estimate_cents(authorization.estimated_duration)) if authorization else None


class CallRowOutput(serializers.Serializer):
    """A history row, from the row dicts the history selector returns. The fields describe
    it (for the schema); `to_representation` shapes a page's rows without DRF's per-field
    machinery, since a history page is the hottest read."""

    id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    persona_id = serializers.UUIDField(allow_null=True)
    persona_name = serializers.CharField()
    status = serializers.CharField()
    start_time = serializers.DateTimeField(allow_null=True)
    end_time = serializers.DateTimeField(allow_null=True)
    duration = serializers.IntegerField(allow_null=True)
    cost = serializers.FloatField(allow_null=True, help_text="Dollars.")
    sid = serializers.CharField(allow_null=True)
    transcript = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)

    def to_representation(self, row: dict) -> dict:
        return {
            "id": str(row["id"]),
            "user_id": str(row["user_id"]),
            "persona_id": str(row["persona_id"]) if row["persona_id"] else None,
            "persona_name": row["persona_name"],
            "status": row["status"],
            "start_time": _iso(row["start_time"]),
            "end_time": _iso(row["end_time"]),
            "duration": row["duration"],
            "cost": _dollars(row["cost_cents"]),
            "sid": row["sid"],
            "transcript": self.context.get("transcripts", {}).get(row["id"]),
            "error_message": row["error_message"] or None,
        }


class CallListOutput(serializers.Serializer):
    calls = CallRowOutput(many=True)
    pagination = serializers.DictField(child=serializers.IntegerField())


class TurnOutput(serializers.ModelSerializer):
    class Meta:
        model = CallTurn
        fields = ["index", "speaker", "text", "interrupted", "offset_ms"]


class CallDetailOutput(serializers.ModelSerializer):
    cost = serializers.SerializerMethodField()
    estimated_cost = serializers.SerializerMethodField()
    error_message = serializers.SerializerMethodField()
    transcript = serializers.SerializerMethodField()
    turns = TurnOutput(many=True)
    recording = serializers.SerializerMethodField()
    cost_breakdown = serializers.SerializerMethodField()
    feedback = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "user_id",
            "persona_id",
            "persona_name",
            "scenario_template_id",
            "call_pretext",
            "phone_number",
            "status",
            "twilio_status",
            "start_time",
            "end_time",
            "duration",
            "cost",
            "estimated_cost",
            "sid",
            "error_message",
            "ended_by",
            "created_at",
            "transcript",
            "turns",
            "recording",
            "cost_breakdown",
            "feedback",
        ]

    def get_cost(self, call: Call) -> float | None:
        return _dollars(call.cost_cents)

    def get_estimated_cost(self, call: Call) -> float | None:
        return PlacedCallOutput().get_estimated_cost(call)

    def get_error_message(self, call: Call) -> str | None:
        return call.error_message or None

    def get_transcript(self, call: Call) -> str | None:
        return selectors.transcript_text(list(call.turns.all()), call.persona_name)

    def get_recording(self, call: Call) -> dict:
        recordings = [r for r in call.recordings.all() if r.deleted_at is None]
        latest = recordings[0] if recordings else None
        return {
            "enabled": call.recording_enabled,
            "available": bool(latest and latest.status == "completed"),
            "status": latest.status if latest else None,
            "duration": latest.duration if latest else None,
        }

    def get_cost_breakdown(self, call: Call) -> dict:
        talk_cents = (call.cost_cents - pricing.CONNECTION_FEE_CENTS) if call.cost_cents else 0
        return {
            "connection_fee": _dollars(pricing.CONNECTION_FEE_CENTS),
            "per_minute_rate": _dollars(pricing.PER_MINUTE_CENTS),
            "duration_seconds": call.duration or 0,
            "talk_time_cost": _dollars(max(talk_cents, 0)),
            "total": _dollars(call.cost_cents or 0),
            "authorized": _dollars(call.authorization.amount_authorized) if call.authorization else None,
            "authorized_seconds": call.authorized_seconds,
        }

    def get_feedback(self, call: Call) -> dict | None:
        feedback = getattr(call, "feedback", None)
        if feedback is None:
            return None
        return {"rating": feedback.rating, "feedback_text": feedback.feedback_text, "updated_at": feedback.updated_at}


class FeedbackInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    feedback_text = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class RecordingLinkOutput(serializers.Serializer):
    recording_url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class TwilioCallForm(serializers.Serializer):
    """The fields we read from Twilio's requests about a call (it sends more, all signed).
    For the schema: the views read them through `webhooks.twilio_params`, after the check."""

    CallSid = serializers.CharField(help_text="Twilio's id of the call, `CA...`.")
    CallStatus = serializers.CharField(required=False, help_text="e.g. ringing, in-progress, completed, busy.")


class TwilioCallStatusForm(TwilioCallForm):
    CallStatus = serializers.CharField(help_text="queued, initiated, ringing, in-progress, or a final status.")
    CallDuration = serializers.IntegerField(required=False, help_text="Seconds, on the final report.")
    SequenceNumber = serializers.IntegerField(required=False)
    Timestamp = serializers.CharField(required=False, help_text="RFC 2822.")
    Price = serializers.CharField(required=False)
    PriceUnit = serializers.CharField(required=False)


class TwilioRecordingStatusForm(serializers.Serializer):
    RecordingSid = serializers.CharField(help_text="`RE...`")
    CallSid = serializers.CharField(required=False)
    RecordingStatus = serializers.CharField(required=False, help_text="in-progress, completed, absent or failed.")
    RecordingDuration = serializers.IntegerField(required=False)
    RecordingChannels = serializers.IntegerField(required=False)


class UsageFiguresOutput(serializers.Serializer):
    calls = serializers.IntegerField()
    minutes = serializers.IntegerField()
    spent = serializers.FloatField()


class MonthUsageOutput(UsageFiguresOutput):
    month = serializers.CharField(help_text='e.g. "Nov 2024"')


class UsageOutput(serializers.Serializer):
    total_calls = serializers.IntegerField()
    total_minutes = serializers.IntegerField()
    total_spent = serializers.FloatField()
    current_month = UsageFiguresOutput()
    monthly_breakdown = MonthUsageOutput(many=True)

    @staticmethod
    def shape(usage: selectors.Usage) -> dict:
        def figures(f: selectors.UsageFigures) -> dict:
            return {"calls": f.calls, "minutes": f.minutes, "spent": pricing.cents_to_dollars(f.cents)}

        return {
            "total_calls": usage.total.calls,
            "total_minutes": usage.total.minutes,
            "total_spent": pricing.cents_to_dollars(usage.total.cents),
            "current_month": figures(usage.current_month),
            "monthly_breakdown": [
                {"month": month.month.strftime("%b %Y"), **figures(month.figures)} for month in usage.months
            ],
        }
