"""Phone calls: what a call requests (shared with bookings), the call record, what was said
on it, what the voice providers did for it, its recording, the caller's feedback, and the
pool of numbers we call from.

The rules that must never break are constraints here: at most one active call per user,
E.164 numbers, one Twilio call per record, one feedback per call, turns numbered once.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import E164_REGEX
from callmeback.encryption import EncryptedTextField


class RequestedCall(models.Model):
    """What a call and a booking both ask for: who is called on which number, by which persona,
    about what. Each concrete model names its reverse relations with `default_related_name`
    (`user.calls`, `user.scheduled_calls`, ...)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    persona = models.ForeignKey("personas.Persona", null=True, blank=True, on_delete=models.SET_NULL)
    persona_name = models.CharField(max_length=50, help_text="The persona's name when the call was requested.")
    scenario_template = models.ForeignKey("personas.ScenarioTemplate", null=True, blank=True, on_delete=models.SET_NULL)
    call_pretext = models.TextField(max_length=1000, blank=True, help_text="The situation the persona calls about.")
    phone_number = models.CharField(max_length=16, help_text="E.164; the person's verified number.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Call(RequestedCall):
    """One phone call from a persona to a person, from the request to the final callback.

    `status` is the spec's view (`000_*` §2.1): initiated → in-progress → completed | failed.
    `twilio_status` keeps Twilio's own last word (queued, ringing, busy, no-answer, …).
    Money: `authorization` is the hold that pays for it; `cost_cents` is what the person
    pays for the real duration, `provider_cost` what Twilio charged us.
    """

    class Status(models.TextChoices):
        INITIATED = "initiated", "Initiated"
        IN_PROGRESS = "in-progress", "In progress"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class EndedBy(models.TextChoices):
        CALLEE = "callee", "The person hung up"
        PERSONA = "persona", "The persona ended the call"
        USER = "user", "Ended from the app"
        ADMIN = "admin", "Ended by an admin"
        TIME_LIMIT = "time_limit", "Authorised time ran out"
        SYSTEM = "system", "Ended by the system"

    ACTIVE = (Status.INITIATED, Status.IN_PROGRESS)
    FINISHED = (Status.COMPLETED, Status.FAILED)

    caller_id = models.CharField(max_length=16, blank=True, help_text="The number we called from.")

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INITIATED)
    twilio_status = models.CharField(max_length=20, blank=True, help_text="Twilio's last reported CallStatus.")
    twilio_sequence = models.IntegerField(default=-1, help_text="SequenceNumber of the last callback applied.")
    sid = models.CharField(max_length=64, unique=True, null=True, blank=True, help_text="Twilio Call SID.")
    error_message = models.CharField(max_length=500, blank=True)
    ended_by = models.CharField(max_length=20, choices=EndedBy.choices, blank=True)
    # Stamped before Twilio is asked to ring: a call with one is never dialled again.
    dial_attempted_at = models.DateTimeField(null=True, blank=True)
    # Twilio's answer to the dial never came: its callback or the sweeper says whether it rang.
    dial_outcome_unknown = models.BooleanField(default=False)
    live_stream_sid = models.CharField(
        max_length=64,
        blank=True,
        help_text="Twilio's media stream carrying the call now: set when it starts, cleared when it ends.",
    )
    stream_sid = models.CharField(
        max_length=64,
        blank=True,
        help_text="The media stream the call was given: set once, when it starts; any other is refused.",
    )

    authorization = models.OneToOneField(
        "billing.PaymentAuthorization", null=True, blank=True, on_delete=models.PROTECT, related_name="call"
    )
    authorized_seconds = models.PositiveIntegerField(
        default=0, help_text="Talk time the hold pays for; Twilio's time_limit."
    )
    recording_enabled = models.BooleanField(default=False)

    start_time = models.DateTimeField(null=True, blank=True, help_text="When the person answered.")
    end_time = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds, from Twilio's CallDuration.")
    cost_cents = models.PositiveIntegerField(null=True, blank=True, help_text="What the person pays.")
    provider_cost = models.DecimalField(
        max_digits=10, decimal_places=5, null=True, blank=True, help_text="Twilio's Price for the call (our cost)."
    )
    provider_cost_unit = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["-created_at"]
        default_related_name = "calls"
        indexes = [
            models.Index(fields=["user", "status"], name="call_user_status"),
            models.Index(fields=["-start_time"], name="call_start_time"),
            models.Index(fields=["user", "-created_at"], name="call_user_created"),
            models.Index(fields=["status", "created_at"], name="call_status_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status__in=["initiated", "in-progress"]), name="one_active_call_per_user"
            ),
            models.CheckConstraint(condition=Q(phone_number__regex=E164_REGEX), name="call_phone_e164"),
            models.CheckConstraint(
                condition=Q(duration__isnull=True) | Q(end_time__isnull=False), name="call_duration_needs_end"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.persona_name} → …{self.phone_number[-4:]} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class CallTurn(models.Model):
    """One turn of the conversation, as it was heard: the person's words from speech-to-text,
    the persona's cut to what was played before an interruption. Encrypted at rest."""

    class Speaker(models.TextChoices):
        PERSON = "person", "Person"
        PERSONA = "persona", "Persona"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField(help_text="Order within the call, from 0.")
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    text = EncryptedTextField()
    interrupted = models.BooleanField(default=False, help_text="The persona was cut off here.")
    offset_ms = models.PositiveIntegerField(default=0, help_text="When the turn began, from the stream start.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["call", "index"]
        constraints = [models.UniqueConstraint(fields=["call", "index"], name="call_turn_index_unique")]

    def __str__(self) -> str:
        return f"turn {self.index} of {self.call_id} ({self.speaker})"


class CallUsage(models.Model):
    """What one voice provider did for one call and what it cost us, stored when the media
    stream ends (`001_*` cost tracking). Admin only. Twilio's part is on the call itself
    (`duration`, `provider_cost`), from its status callback."""

    class Kind(models.TextChoices):
        STT = "stt", "Speech to text"
        LLM = "llm", "Language model"
        TTS = "tts", "Text to speech"

    class Unit(models.TextChoices):
        SECONDS = "seconds", "seconds of audio"
        INPUT_TOKENS = "input_tokens", "input tokens"
        OUTPUT_TOKENS = "output_tokens", "output tokens"
        CHARACTERS = "characters", "characters"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="usage")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    provider = models.CharField(max_length=100, help_text="The provider and model, e.g. deepgram nova-3.")
    unit = models.CharField(max_length=20, choices=Unit.choices)
    quantity = models.DecimalField(
        max_digits=14, decimal_places=3, null=True, blank=True, help_text="Empty: the provider reported none."
    )
    unreported = models.PositiveIntegerField(
        default=0,
        help_text="Requests whose usage the provider never reported (cut off by a barge-in, or a server "
        "that reports none): not in the quantity or the cost.",
    )
    cost = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True, help_text="US dollars; empty when unknown."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "call usage"
        constraints = [models.UniqueConstraint(fields=["call", "kind", "unit"], name="call_usage_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.call_id}: {self.quantity} {self.unit}"


class CallRecording(models.Model):
    """A Twilio recording of a call, from the recording-status callback (`004_*`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="recordings")
    sid = models.CharField(max_length=64, unique=True, help_text="Twilio Recording SID.")
    status = models.CharField(max_length=20, help_text="in-progress, completed, absent or failed.")
    duration = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.sid


class CallFeedback(models.Model):
    """The person's rating of a call (`002_*` §3): one per call, editable."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="feedback")
    rating = models.PositiveSmallIntegerField()
    feedback_text = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5")]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.call_id}"


class CallerIdNumber(models.Model):
    """A Twilio number we place calls from; admins manage the pool, used round-robin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone_number = models.CharField(max_length=16, unique=True)
    twilio_sid = models.CharField(max_length=64, blank=True, help_text="Incoming phone number SID, when bought here.")
    friendly_name = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["last_used_at", "created_at"]
        verbose_name = "caller ID number"
        constraints = [models.CheckConstraint(condition=Q(phone_number__regex=E164_REGEX), name="caller_id_e164")]

    def __str__(self) -> str:
        return self.phone_number


class CallAnalysis(models.Model):
    """What the after-call analysis read in a call's heard transcript (`003_*`): a summary and
    the person's mood. The summary is encrypted at rest like the transcript; the mood stays
    plain so the database can count and chart it."""

    class Sentiment(models.TextChoices):
        POSITIVE = "positive", "Positive"
        NEUTRAL = "neutral", "Neutral"
        NEGATIVE = "negative", "Negative"

    class Source(models.TextChoices):
        LLM = "llm", "Language model"
        LOCAL = "local", "Local analyser"

    call = models.OneToOneField(Call, on_delete=models.CASCADE, primary_key=True, related_name="analysis")
    summary = EncryptedTextField()
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices)
    sentiment_score = models.FloatField(help_text="From -1 (most negative) to 1 (most positive).")
    emotions = models.JSONField(default=list, blank=True, help_text="The main emotions, when the model names them.")
    source = models.CharField(max_length=10, choices=Source.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "call analyses"
        constraints = [
            models.CheckConstraint(
                condition=Q(sentiment_score__gte=-1, sentiment_score__lte=1), name="analysis_score_in_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sentiment} ({self.source}) for {self.call_id}"


class CallKeyPhrase(models.Model):
    """One of up to eight key phrases of a call, encrypted; `digest` is a keyed hash of the
    phrase folded to lower case, so the database counts a person's top phrases without
    reading them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="key_phrases")
    position = models.PositiveSmallIntegerField()
    text = EncryptedTextField()
    digest = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["call", "position"]
        constraints = [models.UniqueConstraint(fields=["call", "position"], name="key_phrase_position_unique")]

    def __str__(self) -> str:
        return f"phrase {self.position} of {self.call_id}"
