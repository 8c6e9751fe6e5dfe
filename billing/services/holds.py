"""Call pre-authorisations: a hold of a call's estimated cost on the default card, checked
and attached to the one call it pays for, then settled exactly once.

Money moves exactly once. A hold is settled (captured or released) by claiming it in a
short transaction (the amount, and whose turn it is to ask Stripe), asking Stripe after
that commits, with an idempotency key derived from the hold's id, and recording the answer
in a second short transaction; no row lock is held while Stripe answers. Whoever comes
second, a retried task, a concurrent worker or a late webhook, waits for or finds the
outcome and changes nothing. The `AuthorizationSettlement` table takes one row per hold,
enforced by the database.
"""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from billing import gateways, pricing, selectors
from billing.conf import MAX_NETWORK_RETRIES, stripe_config
from billing.errors import NoPaymentMethod, NotCapturable, PaymentDeclined, StripeRequestRejected, StripeServiceError
from billing.models import AuthorizationSettlement, PaymentAuthorization, PaymentMethod
from callmeback.errors import ValidationFailed

logger = logging.getLogger(__name__)

Status = PaymentAuthorization.Status

# https://docs.stripe.com/payments/place-a-hold-on-a-payment-method: card holds last 7 days,
# but only 4 days 18 hours for merchant-initiated Visa payments.
HOLD_VALIDITY = timedelta(days=7)
VISA_MERCHANT_INITIATED_HOLD_VALIDITY = timedelta(days=4, hours=18)
# A hold must pay for at least this much talk before we dial.
MIN_CALL_SECONDS = 60
# A claimed capture or release untouched this long lost its worker; the sweeper finishes it.
IN_FLIGHT_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class NewAuthorization:
    authorization: PaymentAuthorization
    client_secret: str = field(repr=False)


_HELD_STATUSES = {"requires_capture": Status.REQUIRES_CAPTURE, "requires_action": Status.REQUIRES_ACTION}


def _hold_expiry(*, capture_before: int | None, merchant_initiated_visa: bool) -> datetime:
    """When the card network drops the hold: Stripe's `capture_before` when it says, else the scheme's window."""
    if capture_before:
        return datetime.fromtimestamp(capture_before, tz=UTC)
    return timezone.now() + (VISA_MERCHANT_INITIATED_HOLD_VALIDITY if merchant_initiated_visa else HOLD_VALIDITY)


def authorization_create(
    *,
    user: User,
    estimated_duration: int,
    call_type: str = PaymentAuthorization.CallType.IMMEDIATE,
    off_session: bool = False,
) -> NewAuthorization:
    """Holds the estimated cost of a call on the default card (`000_*` §6.5): the intent is
    committed first, in a transaction of its own, then Stripe is asked, then the answer is
    recorded, so no hold is ever placed that no row of ours knows about. Call it outside
    any transaction (a durable block refuses otherwise).

    `off_session` is for holds placed while the person is away, close to a scheduled call:
    a merchant-initiated payment, whose hold Visa keeps for less than 5 days.
    """
    with transaction.atomic(durable=True):
        intent = authorization_intend(
            user=user, estimated_duration=estimated_duration, call_type=call_type, off_session=off_session
        )
    return authorization_place(authorization=intent)


def authorization_intend(
    *,
    user: User,
    estimated_duration: int,
    call_type: str = PaymentAuthorization.CallType.IMMEDIATE,
    off_session: bool = False,
    key: str | None = None,
) -> PaymentAuthorization:
    """Records the intent to hold (a `creating` row), in the caller's transaction, which
    must commit before `authorization_place` asks Stripe. `key` names the intent the same
    way on every retry (`series-<id>-<moment>`): the same key returns the same row, so a
    retry asks Stripe with the same idempotency key, or adopts what the first attempt got.
    Without a key, a new intent keyed by its own id."""
    if not pricing.MIN_ESTIMATE_MINUTES <= estimated_duration <= pricing.MAX_ESTIMATE_MINUTES:
        raise ValidationFailed.for_field(
            "estimated_duration",
            f"Ensure this value is between {pricing.MIN_ESTIMATE_MINUTES} and {pricing.MAX_ESTIMATE_MINUTES} minutes.",
        )
    if call_type not in PaymentAuthorization.CallType.values:
        raise ValidationFailed.for_field("call_type", "Must be immediate or scheduled.")
    method = selectors.default_payment_method(user=user)
    if method is None or selectors.customer_for_user(user=user) is None:
        raise NoPaymentMethod()
    authorization_id = uuid.uuid4()
    hold, created = PaymentAuthorization.objects.get_or_create(
        idempotency_key=key or f"authorize-{authorization_id}",
        defaults={
            "id": authorization_id,
            "user": user,
            "payment_method_id": method.stripe_id,
            "currency": stripe_config().currency,
            "amount_authorized": pricing.estimate_cents(estimated_duration),
            "estimated_duration": estimated_duration,
            "call_type": call_type,
            "off_session": off_session,
            "status": Status.CREATING,
            "expires_at": timezone.now() + HOLD_VALIDITY,
        },
    )
    if not created and hold.status == Status.FAILED and hold.failure_code == NOT_CREATED:
        # The sweeper found that Stripe never placed it: this retry may ask again.
        hold.status, hold.failure_code, hold.settled_at = Status.CREATING, "", None
        hold.save(update_fields=["status", "failure_code", "settled_at", "updated_at"])
    return hold


def authorization_place(*, authorization: PaymentAuthorization) -> NewAuthorization:
    """Asks Stripe to place a recorded hold, with no transaction open and no row locked,
    then records the answer in a second short transaction. A hold already placed is
    returned as it is (no client secret); one another worker is placing right now is
    returned still `creating`. A decline records the hold failed and raises
    PaymentDeclined; Stripe unreachable raises StripeServiceError and leaves the intent
    `creating`, for a retry with the same key or for the sweeper to settle."""
    hold, our_turn, asked_before = _claim_creation(authorization.pk)
    if not our_turn:
        return NewAuthorization(authorization=hold, client_secret="")
    intent = _find_created_intent(hold) if asked_before else None
    if intent is None:
        customer = selectors.customer_for_user(user=hold.user)
        if customer is None:
            _record_created(hold.pk, intent=None, failure_code="no_customer")
            raise NoPaymentMethod()
        try:
            intent = gateways.payment_intent_authorize(
                amount=hold.amount_authorized,
                currency=hold.currency,
                customer_id=customer.customer_id,
                payment_method_id=hold.payment_method_id,
                off_session=hold.off_session,
                metadata={
                    "user_id": str(hold.user_id),
                    "call_type": hold.call_type,
                    "estimated_duration": str(hold.estimated_duration),
                    "authorization_id": str(hold.pk),
                },
                idempotency_key=hold.idempotency_key,
            )
        except PaymentDeclined as declined:
            _record_created(hold.pk, intent=None, failure_code=str(declined.details.get("code") or "declined"))
            raise
    recorded = _record_created(hold.pk, intent=intent)
    if recorded.status == Status.FAILED:
        raise PaymentDeclined()
    logger.info("Authorised %s¢ on %s for user %s", recorded.amount_authorized, intent.id, recorded.user_id)
    return NewAuthorization(authorization=recorded, client_secret=intent.client_secret)


# A creation answer recorded as failed because Stripe holds no intent for it.
NOT_CREATED = "not_created"


def _claim_creation(
    authorization_id: uuid.UUID, *, lease: timedelta | None = None
) -> tuple[PaymentAuthorization, bool, bool]:
    """Under the row lock, takes the turn to ask Stripe for a `creating` hold unless it is
    placed already or another worker took the turn less than `lease` ago (by default, as
    long as it may wait for Stripe). Returns the hold, whether it is our turn, and whether
    Stripe may have been asked before (then look before asking again)."""
    with transaction.atomic():
        hold = PaymentAuthorization.objects.select_for_update().get(pk=authorization_id)
        if hold.status != Status.CREATING:
            return hold, False, False
        now = timezone.now()
        started = hold.stripe_call_started_at
        if started and started > now - (_stripe_call_lease() if lease is None else lease):
            return hold, False, True
        hold.stripe_call_started_at = now
        hold.save(update_fields=["stripe_call_started_at", "updated_at"])
    return hold, True, started is not None


def _find_created_intent(hold: PaymentAuthorization) -> gateways.IntentData | None:
    """The intent Stripe made for this hold, if any, found by the id in its metadata among
    the customer's intents created since the hold was recorded."""
    customer = selectors.customer_for_user(user=hold.user) if hold.user_id else None
    if customer is None:
        return None
    since = int((hold.created_at - timedelta(minutes=5)).timestamp())
    for intent in gateways.payment_intents_of_customer(customer_id=customer.customer_id, created_since=since):
        if intent.metadata.get("authorization_id") == str(hold.pk):
            return intent
    return None


def _record_created(
    authorization_id: uuid.UUID, *, intent: gateways.IntentData | None, failure_code: str = NOT_CREATED
) -> PaymentAuthorization:
    """Records Stripe's answer to a creation (None: no hold exists) unless another worker
    recorded one already. A hold that did not authorise is `failed`."""
    with transaction.atomic():
        hold = PaymentAuthorization.objects.select_for_update().get(pk=authorization_id)
        if hold.status != Status.CREATING:
            return hold
        status = _HELD_STATUSES.get(intent.status) if intent else None
        hold.stripe_call_started_at = None
        if intent is not None:
            hold.payment_intent_id = intent.id
        if status is None:
            hold.status = Status.FAILED
            hold.failure_code = failure_code if intent is None else intent.status
            hold.settled_at = timezone.now()
        else:
            brand = PaymentMethod.objects.filter(stripe_id=hold.payment_method_id).values_list("brand", flat=True)
            hold.status = status
            hold.expires_at = _hold_expiry(
                capture_before=intent.capture_before,
                merchant_initiated_visa=hold.off_session and (brand.first() or "").lower() == "visa",
            )
        fields = ["payment_intent_id", "status", "failure_code", "settled_at", "expires_at", "stripe_call_started_at"]
        hold.save(update_fields=[*fields, "updated_at"])
    return hold


def _unusable(message: str) -> ValidationFailed:
    return ValidationFailed.for_field("payment_intent_id", message)


def authorization_check(
    *, user: User, payment_intent_id: str, valid_until: datetime | None = None, refresh: bool = True
) -> PaymentAuthorization:
    """The hold a call may spend: the user's own, authorised, not spent on another call,
    worth at least a minute of talk, and still held at `valid_until` (the call time; now by
    default). Calls booked beyond the hold window must be authorised nearer the time.
    A hold awaiting authentication is read from Stripe first unless `refresh` is off (the
    caller holds its row lock and refreshed it before taking it)."""
    authorization = selectors.authorization_for_user(user=user, payment_intent_id=payment_intent_id)
    if authorization is None:
        raise _unusable("No payment authorisation with this id.")
    if refresh and authorization.status == Status.REQUIRES_ACTION:
        authorization = authorization_refresh(authorization=authorization)
    if authorization.status == Status.FAILED:
        raise PaymentDeclined()
    if authorization.status == Status.REQUIRES_ACTION:
        raise _unusable("Complete the card authentication first.")
    if authorization.status != Status.REQUIRES_CAPTURE or authorization.call_id is not None:
        raise _unusable("This payment authorisation has already been used.")
    if authorization.amount_authorized < pricing.call_cost_cents(MIN_CALL_SECONDS):
        raise _unusable("This payment authorisation does not cover a minute of talk.")
    if authorization.expires_at <= (valid_until or timezone.now()):
        raise _unusable("The hold on the card ends before the call. Authorise again closer to the call time.")
    return authorization


def authorization_attach_call(*, authorization: PaymentAuthorization, call_id: uuid.UUID) -> PaymentAuthorization:
    """Records the call a hold pays for: one call per hold, one hold per call."""
    try:
        with transaction.atomic():
            locked = PaymentAuthorization.objects.select_for_update().get(pk=authorization.pk)
            if locked.call_id == call_id:
                return locked
            if locked.call_id is not None or locked.status != Status.REQUIRES_CAPTURE:
                raise _unusable("This payment authorisation has already been used.")
            locked.call_id = call_id
            locked.save(update_fields=["call_id", "updated_at"])
            return locked
    except IntegrityError:
        raise _unusable("This call already has a payment authorisation.") from None


def authorization_reserve_for_booking(*, authorization: PaymentAuthorization) -> None:
    """Records that a booking took the hold: from now on it pays for that booking's call only,
    so a call placed now is refused it. Run in the transaction that saves the booking."""
    authorization.reserved_for = PaymentAuthorization.ReservedFor.BOOKING
    authorization.save(update_fields=["reserved_for", "updated_at"])


def authorization_take_for_booking(*, authorization_id: uuid.UUID) -> PaymentAuthorization | None:
    """Reserves a freshly placed hold for a booking, under its row lock, if it is still held
    and nothing took it (the sweeper may have released it meanwhile); else None. Run in the
    transaction that attaches it to the booking."""
    hold = PaymentAuthorization.objects.select_for_update().get(pk=authorization_id)
    if hold.status != Status.REQUIRES_CAPTURE or _is_attached(hold):
        return None
    authorization_reserve_for_booking(authorization=hold)
    return hold


def authorization_refresh_pending(*, user: User, payment_intent_id: str) -> None:
    """Reads from Stripe a hold of the person's still awaiting authentication (its webhook
    may not have arrived), before the caller locks it: no Stripe request under a row lock."""
    authorization = selectors.authorization_for_user(user=user, payment_intent_id=payment_intent_id)
    if authorization is not None and authorization.status == Status.REQUIRES_ACTION:
        authorization_refresh(authorization=authorization)


def authorization_refresh(*, authorization: PaymentAuthorization) -> PaymentAuthorization:
    """Reads the intent from Stripe, for when its webhook has not arrived yet."""
    intent = gateways.payment_intent_retrieve(authorization.payment_intent_id)
    return authorization_sync_intent(intent=intent) or authorization


def authorization_sync_intent(*, intent: gateways.IntentData) -> PaymentAuthorization | None:
    """Adopts what Stripe reports for one of our intents (a webhook, or a refresh); one whose
    creation never reported back is known by the hold id in its metadata, and recorded."""
    if (pending := _pending_creation(intent)) is not None:
        _record_created(pending, intent=intent)
    with transaction.atomic():
        authorization = PaymentAuthorization.objects.select_for_update().filter(payment_intent_id=intent.id).first()
        if authorization is not None:
            _apply_intent(authorization, intent, source=AuthorizationSettlement.Source.STRIPE)
    return authorization


def _pending_creation(intent: gateways.IntentData) -> uuid.UUID | None:
    """The id of our `creating` hold that Stripe's intent says it was made for, if any."""
    try:
        hold_id = uuid.UUID(intent.metadata.get("authorization_id", ""))
    except ValueError:
        return None
    return hold_id if PaymentAuthorization.objects.filter(pk=hold_id, status=Status.CREATING).exists() else None


def _apply_intent(authorization: PaymentAuthorization, intent: gateways.IntentData, *, source: str) -> None:
    """Moves a locked hold to Stripe's state. States only move forward and settled holds never
    change, so a late, repeated or reordered event cannot un-capture or capture again."""
    if authorization.is_settled:
        return
    if intent.status == "succeeded":
        # Stripe's figure; localstripe omits it, and then ours (or the whole hold, if taken elsewhere).
        amount = intent.amount_received or authorization.amount_to_capture or intent.amount
        _record_settlement(authorization, kind=AuthorizationSettlement.Kind.CAPTURE, amount=amount, source=source)
    elif intent.status == "canceled":
        _record_settlement(authorization, kind=AuthorizationSettlement.Kind.RELEASE, amount=0, source=source)
    elif authorization.status == Status.REQUIRES_ACTION and intent.status == "requires_capture":
        # Authenticated by the customer just now: on-session, so the full window.
        authorization.status = Status.REQUIRES_CAPTURE
        authorization.expires_at = _hold_expiry(capture_before=intent.capture_before, merchant_initiated_visa=False)
        authorization.save(update_fields=["status", "expires_at", "updated_at"])
    elif authorization.status == Status.REQUIRES_ACTION and intent.status == "requires_payment_method":
        authorization.status = Status.FAILED
        authorization.failure_code = "authentication_failed"
        authorization.settled_at = timezone.now()
        authorization.save(update_fields=["status", "failure_code", "settled_at", "updated_at"])


def _record_settlement(authorization: PaymentAuthorization, *, kind: str, amount: int, source: str) -> None:
    """The hold's final state and its one settlement row (the caller holds the row lock)."""
    captured = kind == AuthorizationSettlement.Kind.CAPTURE
    authorization.status = Status.CAPTURED if captured else Status.CANCELED
    authorization.amount_captured = amount
    authorization.settled_at = timezone.now()
    authorization.stripe_call_started_at = None
    authorization.save(
        update_fields=["status", "amount_captured", "settled_at", "stripe_call_started_at", "updated_at"]
    )
    AuthorizationSettlement.objects.create(authorization=authorization, kind=kind, amount=amount, source=source)
    logger.info("%s %s¢ on %s", "Captured" if captured else "Released", amount, authorization.payment_intent_id)


def authorization_capture(*, authorization: PaymentAuthorization, seconds: int) -> PaymentAuthorization:
    """Captures what a call of `seconds` cost, never more than the hold; Stripe releases the
    rest. A call that never connected (0 s) releases the whole hold instead. Calling it
    again, or concurrently, returns the first outcome and moves no more money."""
    if seconds < 0:
        raise ValidationFailed.for_field("seconds", "A call cannot last a negative time.")
    amount = min(pricing.call_cost_cents(seconds), authorization.amount_authorized) if seconds else 0
    return _settle(authorization, amount=amount)


def authorization_release(*, authorization: PaymentAuthorization) -> PaymentAuthorization:
    """Releases the whole hold (a cancelled scheduled call); idempotent like a capture."""
    return _settle(authorization, amount=0)


def _settle(authorization: PaymentAuthorization, *, amount: int) -> PaymentAuthorization:
    """Claims the hold for capturing `amount` (or releasing, for 0), unless it is settled or
    already claimed, in which case the first claim stands; then carries the claim out, or
    waits for the worker already doing so."""
    return _settle_claimed(authorization, claim_amount=amount, wait=True)


def _stripe_call_lease() -> timedelta:
    """How long a worker may take asking Stripe before another may take over: every attempt
    the SDK makes, each up to the timeout, and some slack. Taking over is safe anyway (the
    same idempotency key gets Stripe's first answer); this only avoids asking twice."""
    return timedelta(seconds=stripe_config().timeout * (MAX_NETWORK_RETRIES + 1) + 30)


# How often a caller waiting for another worker's Stripe call looks at the hold again.
_SETTLE_POLL_SECONDS = 0.2


def _claim_turn(
    authorization_id: uuid.UUID, *, claim_amount: int | None, unattached_only: bool = False
) -> tuple[PaymentAuthorization, bool]:
    """One short transaction under the row lock: claims the hold for `claim_amount` unless it
    is settled or claimed already (None only finishes an existing claim), then takes the turn
    to ask Stripe unless another worker has it. Returns the hold and whether it is our turn.
    A hold still being placed is not ours to settle; with `unattached_only`, neither is one
    a call or a booking took (checked under the lock, so a call attaching it meanwhile wins)."""
    now = timezone.now()
    with transaction.atomic():
        hold = PaymentAuthorization.objects.select_for_update().get(pk=authorization_id)
        if hold.is_settled or hold.status == Status.CREATING:
            return hold, False
        if unattached_only and hold.status not in PaymentAuthorization.IN_FLIGHT and _is_attached(hold):
            return hold, False
        if hold.status not in PaymentAuthorization.IN_FLIGHT:
            if claim_amount is None:
                return hold, False
            if claim_amount and hold.status != Status.REQUIRES_CAPTURE:
                raise NotCapturable()
            hold.status = Status.CAPTURING if claim_amount else Status.RELEASING
            hold.amount_to_capture = claim_amount
        elif hold.stripe_call_started_at and hold.stripe_call_started_at > now - _stripe_call_lease():
            return hold, False
        hold.stripe_call_started_at = now
        hold.save(update_fields=["status", "amount_to_capture", "stripe_call_started_at", "updated_at"])
    return hold, True


def _settle_claimed(
    authorization: PaymentAuthorization,
    *,
    claim_amount: int | None = None,
    wait: bool = False,
    unattached_only: bool = False,
) -> PaymentAuthorization:
    """Carries out the hold's claim: Stripe is asked with no transaction open and no row
    locked, and its answer is recorded in a second short transaction. With `wait`, a caller
    that finds another worker asking Stripe waits for that worker's outcome (or takes over
    if it gives up), so Stripe is asked once. A retry reuses the claimed amount and the same
    idempotency key, so Stripe answers it with the first result."""
    while True:
        hold, our_turn = _claim_turn(authorization.pk, claim_amount=claim_amount, unattached_only=unattached_only)
        if our_turn or not wait or hold.status not in PaymentAuthorization.IN_FLIGHT:
            break
        time.sleep(_SETTLE_POLL_SECONDS)
    if not our_turn:
        return hold
    try:
        intent = _ask_stripe_to_settle(hold)
    except BaseException:
        # Give the turn back, so a retry (or a waiting caller) need not wait for the lease.
        PaymentAuthorization.objects.filter(pk=hold.pk, stripe_call_started_at=hold.stripe_call_started_at).update(
            stripe_call_started_at=None
        )
        raise
    with transaction.atomic():
        settled = PaymentAuthorization.objects.select_for_update().get(pk=hold.pk)
        _apply_intent(settled, intent, source=AuthorizationSettlement.Source.API)
    return settled


def _ask_stripe_to_settle(hold: PaymentAuthorization) -> gateways.IntentData:
    """Captures the claimed amount or cancels the intent, as the claim says."""
    try:
        if hold.status == Status.CAPTURING:
            return gateways.payment_intent_capture(
                payment_intent_id=hold.payment_intent_id,
                amount=hold.amount_to_capture,
                idempotency_key=f"capture-{hold.pk}",
            )
        return gateways.payment_intent_cancel(
            payment_intent_id=hold.payment_intent_id, idempotency_key=f"release-{hold.pk}"
        )
    except StripeRequestRejected:
        # Refused: the hold expired, or an earlier attempt already went through. Stripe's
        # state of the intent is the truth to record.
        intent = gateways.payment_intent_retrieve(hold.payment_intent_id)
        if intent.status not in ("succeeded", "canceled"):
            raise
        return intent


def authorizations_finish_in_flight(*, grace: timedelta = IN_FLIGHT_GRACE) -> int:
    """Completes captures and releases whose worker died after claiming them. Returns how
    many were settled; the others are left for the next run."""
    settled = 0
    for authorization in selectors.authorizations_in_flight(updated_before=timezone.now() - grace):
        try:
            settled += _settle_claimed(authorization).is_settled
        except StripeServiceError:
            logger.warning("Could not finish settling %s; will retry", authorization.payment_intent_id)
    return settled


def _is_attached(hold: PaymentAuthorization) -> bool:
    return hold.call_id is not None or hold.reserved_for == PaymentAuthorization.ReservedFor.BOOKING
