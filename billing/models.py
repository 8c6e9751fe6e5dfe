"""Billing records: Stripe customers and cards, call pre-authorisations and what was done with
them, the premium subscription and its invoices, and every Stripe event we received.

Money is integer cents. The rules that must never break live here as constraints: one
default card per user, never capture more than was authorised, a hold settled (captured or
released) exactly once, one authorisation per call, each Stripe event stored once.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class StripeCustomer(models.Model):
    """The user's Stripe customer, created the first time billing needs one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stripe_customer")
    customer_id = models.CharField(max_length=255, unique=True)
    balance = models.IntegerField(default=0, help_text="Stripe customer balance in cents (negative is credit).")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.customer_id


class PaymentMethod(models.Model):
    """A card attached to the user's Stripe customer. Only Stripe ever sees the number.

    Detached cards stay as tombstones: Stripe never re-attaches a detached card, so a late
    `payment_method.attached` event for one must not bring it back.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_methods")
    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=32, default="card")
    brand = models.CharField(max_length=32, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    detached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(is_default=True), name="one_default_card_per_user"),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(detached_at__isnull=True), name="detached_card_not_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class PaymentAuthorization(models.Model):
    """A hold on the user's card for one call (a manual-capture PaymentIntent).

    `creating` (the intent, recorded and committed before Stripe is asked, with an
    idempotency key that is the same on every retry) → `requires_capture` → `capturing` /
    `releasing` (claimed, Stripe being asked) → `captured` / `canceled`. `failed` when the
    card never authorised. The claimed amount is written before Stripe is called, so a
    retry captures exactly the same amount, and
    `stripe_call_started_at` says that a worker is asking Stripe right now, so nobody else
    asks at the same time (no row lock is held across the call).
    """

    class Status(models.TextChoices):
        CREATING = "creating", "Being placed"
        REQUIRES_ACTION = "requires_action", "Needs card authentication"
        REQUIRES_CAPTURE = "requires_capture", "Authorised"
        CAPTURING = "capturing", "Capturing"
        RELEASING = "releasing", "Releasing"
        CAPTURED = "captured", "Captured"
        CANCELED = "canceled", "Released"
        FAILED = "failed", "Failed"

    class CallType(models.TextChoices):
        IMMEDIATE = "immediate", "Immediate"
        SCHEDULED = "scheduled", "Scheduled"

    class ReservedFor(models.TextChoices):
        ANY_CALL = "", "Any call of its owner"
        BOOKING = "booking", "A scheduled call"

    SETTLED = (Status.CAPTURED, Status.CANCELED, Status.FAILED)
    IN_FLIGHT = (Status.CAPTURING, Status.RELEASING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Kept when the account is deleted: it is a financial record.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="payment_authorizations"
    )
    # Empty until Stripe answers the creation; unique among the intents it names.
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text="Stripe's idempotency key for creating the intent, the same on every retry.",
    )
    payment_method_id = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    amount_authorized = models.PositiveIntegerField()
    estimated_duration = models.PositiveSmallIntegerField(help_text="Minutes the hold was sized for.")
    call_type = models.CharField(max_length=10, choices=CallType.choices, default=CallType.IMMEDIATE)
    reserved_for = models.CharField(
        max_length=10,
        choices=ReservedFor.choices,
        blank=True,
        default=ReservedFor.ANY_CALL,
        help_text="What took the hold: one a booking took pays for that booking's call and nothing else.",
    )
    off_session = models.BooleanField(default=False, help_text="Merchant-initiated: the customer was not present.")
    status = models.CharField(max_length=20, choices=Status.choices)
    amount_to_capture = models.PositiveIntegerField(null=True, blank=True, help_text="Claimed before Stripe is asked.")
    stripe_call_started_at = models.DateTimeField(
        null=True, blank=True, help_text="A worker is asking Stripe to carry out the claim since then."
    )
    amount_captured = models.PositiveIntegerField(default=0)
    call_id = models.UUIDField(null=True, blank=True, unique=True, help_text="The call this hold pays for.")
    expires_at = models.DateTimeField(help_text="When the card network releases the hold.")
    failure_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"]), models.Index(fields=["user", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount_authorized__gt=0), name="authorization_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_captured__lte=F("amount_authorized")), name="capture_within_authorization"
            ),
            models.CheckConstraint(
                condition=Q(amount_to_capture__isnull=True) | Q(amount_to_capture__lte=F("amount_authorized")),
                name="claim_within_authorization",
            ),
        ]

    def __str__(self) -> str:
        return self.payment_intent_id or f"(being placed) {self.pk}"

    @property
    def is_settled(self) -> bool:
        return self.status in self.SETTLED


class AuthorizationSettlement(models.Model):
    """What was done with a hold, written once: the capture (money moved) or the release."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "Capture"
        RELEASE = "release", "Release"

    class Source(models.TextChoices):
        API = "api", "Our request"
        STRIPE = "stripe", "Reported by Stripe"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    authorization = models.OneToOneField(PaymentAuthorization, on_delete=models.CASCADE, related_name="settlement")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.PositiveIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="capture") & Q(amount__gt=0)) | (Q(kind="release") & Q(amount=0)),
                name="settlement_amount_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}¢ of {self.authorization_id}"


class RevenueSummary(AuthorizationSettlement):
    """The admin's revenue page: captures summed per day or month (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "revenue summary"
        verbose_name_plural = "revenue summary"


class Subscription(models.Model):
    """The premium subscription as Stripe last told us (`002_*` §7)."""

    # past_due keeps premium while Stripe retries the payment; it then cancels or marks unpaid.
    PREMIUM_STATUSES = ("active", "trialing", "past_due")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=32)
    price_id = models.CharField(max_length=255, blank=True)
    interval = models.CharField(max_length=10, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    cancel_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    fetched_at = models.DateTimeField(help_text="When we read the Stripe state last applied.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.stripe_subscription_id} ({self.status})"

    @property
    def is_premium(self) -> bool:
        return self.status in self.PREMIUM_STATUSES

    @property
    def ends_at(self):
        """When premium stops, if it is set to stop."""
        if self.cancel_at:
            return self.cancel_at
        return self.current_period_end if self.cancel_at_period_end else None


class Invoice(models.Model):
    """A subscription invoice, recorded from Stripe's invoice events."""

    FINAL_STATUSES = ("paid", "void")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invoices")
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32)
    currency = models.CharField(max_length=3)
    amount_due = models.IntegerField(default=0)
    amount_paid = models.IntegerField(default=0)
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    invoice_pdf = models.URLField(max_length=1000, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField()
    state_as_of = models.BigIntegerField(default=0, help_text="Stripe time of the newest event applied.")

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class StripeEvent(models.Model):
    """Each Stripe event id, stored once; `processed_at` is set in the same transaction as its effects."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    created = models.BigIntegerField(help_text="Stripe's Unix timestamp for the event.")
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
