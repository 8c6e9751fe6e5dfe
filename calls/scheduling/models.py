"""Booked calls and recurring series. Their tables keep the names they had when they lived
in the calls app (`calls_scheduledcall`, `calls_callseries`): the move was state only.

The rules that must never break are constraints here: E.164 numbers, a placed booking has
its time, a series' occurrence booked once, a series within its cap.
"""

from django.db import models
from django.db.models import F, Q

from accounts.models import E164_REGEX
from calls.models import RequestedCall


class CallSeries(RequestedCall):
    """A recurring booking (`003_*` campaigns, for one person): a local time of day on chosen
    weekdays in the person's time zone. Each occurrence becomes an ordinary `ScheduledCall`
    a day ahead, with its own off-session hold, which the person consented to here."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    # A series ends with its persona, and each booking copies the persona's name when made.
    persona = models.ForeignKey("personas.Persona", on_delete=models.CASCADE)
    persona_name = None
    local_time = models.TimeField(help_text="Time of day in `timezone`.")
    weekdays = models.JSONField(help_text="ISO weekdays the call rings on, 1 = Monday … 7 = Sunday.")
    end_date = models.DateField(null=True, blank=True, help_text="Last local date a call may ring on.")
    max_calls = models.PositiveIntegerField(null=True, blank=True, help_text="Stop after this many bookings.")
    estimated_duration = models.PositiveSmallIntegerField(default=5, help_text="Minutes each hold pays for.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    calls_booked = models.PositiveIntegerField(default=0)
    starts_on = models.DateField(help_text="First local date an occurrence may fall on.")
    off_session_consent_at = models.DateTimeField(
        help_text="When the person agreed to holds placed on their card while away."
    )
    timezone = models.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/London.")

    class Meta:
        db_table = "calls_callseries"
        ordering = ["-created_at"]
        default_related_name = "call_series"
        verbose_name_plural = "call series"
        indexes = [models.Index(fields=["status"], name="series_status")]
        constraints = [
            models.CheckConstraint(condition=Q(phone_number__regex=E164_REGEX), name="series_phone_e164"),
            models.CheckConstraint(
                condition=Q(max_calls__isnull=True) | Q(calls_booked__lte=F("max_calls")), name="series_within_cap"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.local_time:%H:%M} {self.timezone} ({self.status})"


class ScheduledCall(RequestedCall):
    """A call booked for a moment ahead (`000_*` §2.3-2.5). The row is the truth the
    dispatcher works from: scheduled → dispatching (claimed by the sweeper) → placed (the
    call row exists; set in the transaction that creates it, so a booking dials once), or
    cancelled, missed (found too late), payment_failed (no hold) or failed (no longer
    allowed at send time)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        DISPATCHING = "dispatching", "Dispatching"
        PLACED = "placed", "Placed"
        CANCELLED = "cancelled", "Cancelled"
        MISSED = "missed", "Missed"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.SCHEDULED, Status.DISPATCHING)

    scheduled_time = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    failure_reason = models.CharField(max_length=300, blank=True)
    series = models.ForeignKey(CallSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings")

    authorization = models.OneToOneField(
        "billing.PaymentAuthorization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scheduled_call",
        help_text="The hold that pays for the call; replaced when re-authorised.",
    )
    estimated_duration = models.PositiveSmallIntegerField(default=5, help_text="Minutes the hold is sized for.")
    off_session_consent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person agreed to a new hold placed while away."
    )
    reauthorized_at = models.DateTimeField(null=True, blank=True)
    reauth_claimed_at = models.DateTimeField(null=True, blank=True)

    dispatch_claimed_at = models.DateTimeField(null=True, blank=True)
    dispatch_attempts = models.PositiveSmallIntegerField(default=0)
    placed_at = models.DateTimeField(null=True, blank=True)
    lateness_ms = models.IntegerField(null=True, blank=True, help_text="Placed this long after its time.")
    call = models.OneToOneField(
        "calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="booking", help_text="Set once."
    )

    reminder_claimed_at = models.DateTimeField(null=True, blank=True)
    reminder_sms_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_email_sent_at = models.DateTimeField(null=True, blank=True)

    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "calls_scheduledcall"
        ordering = ["scheduled_time"]
        default_related_name = "scheduled_calls"
        indexes = [
            models.Index(fields=["status", "scheduled_time"], name="booking_status_time"),
            models.Index(fields=["user", "status", "scheduled_time"], name="booking_user_status_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(phone_number__regex=E164_REGEX), name="booking_phone_e164"),
            models.CheckConstraint(
                condition=~Q(status="placed") | Q(placed_at__isnull=False), name="booking_placed_has_time"
            ),
            # A cancelled occurrence (series paused or re-timed) may be booked again.
            models.UniqueConstraint(
                fields=["series", "scheduled_time"], condition=~Q(status="cancelled"), name="series_occurrence_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.persona_name} → …{self.phone_number[-4:]} at {self.scheduled_time:%Y-%m-%d %H:%M} UTC"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
