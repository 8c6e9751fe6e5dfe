"""No hold without a row, and no hold left unused: the intent is committed before Stripe is
asked, a creation whose answer was lost is found and released by the sweeper, holds no
call or booking took are released after the grace, and the owner can cancel one."""

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from billing.errors import StripeServiceError
from billing.models import AuthorizationSettlement, PaymentAuthorization
from billing.services import holds as billing_holds
from billing.services import unused_holds
from tests.billing.conftest import row_lock_free, stripe_event
from tests.conftest import client_for

Status = PaymentAuthorization.Status
CANCEL_URL = "/api/user/cancel-payment-intent"
POSTGRES_ONLY = pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="Row locks need PostgreSQL (CI runs it)."
)


def _sweep() -> int:
    """The sweeper as it runs once the grace periods have passed."""
    return unused_holds.authorizations_sweep_unattached(grace=timedelta(0), creating_grace=timedelta(0))


def _intents_at_stripe(localstripe, authorization: PaymentAuthorization) -> list[dict]:
    listed = localstripe.get("/v1/payment_intents?limit=100")["data"]
    return [intent for intent in listed if intent["metadata"].get("authorization_id") == str(authorization.pk)]


def _releases(authorization: PaymentAuthorization) -> int:
    return AuthorizationSettlement.objects.filter(authorization=authorization, kind="release").count()


@pytest.mark.django_db(transaction=True)
@POSTGRES_ONLY
def test_the_hold_is_committed_as_creating_before_stripe_is_asked_and_no_row_is_locked(card_user, front):
    seen: list[tuple[str, str, bool]] = []

    def check() -> None:
        # Another connection, while Stripe handles the request: the intent is committed.
        row = PaymentAuthorization.objects.get(user=card_user)
        seen.append((row.status, row.idempotency_key, row_lock_free(PaymentAuthorization, pk=row.pk)))

    front.probe("POST", "/v1/payment_intents", check)

    created = billing_holds.authorization_create(user=card_user, estimated_duration=5).authorization

    assert seen == [(Status.CREATING, f"authorize-{created.pk}", True)]
    assert created.status == Status.REQUIRES_CAPTURE
    assert created.payment_intent_id.startswith("pi_")


def test_a_creation_whose_answer_was_lost_is_found_at_stripe_and_released_once(card_user, front, localstripe):
    front.lose_answer("POST", "/v1/payment_intents")

    with pytest.raises(StripeServiceError):
        billing_holds.authorization_create(user=card_user, estimated_duration=5)

    pending = PaymentAuthorization.objects.get(user=card_user)
    assert (pending.status, pending.payment_intent_id) == (Status.CREATING, None)
    [held] = _intents_at_stripe(localstripe, pending)
    assert held["status"] == "requires_capture"

    assert _sweep() == 1
    assert _sweep() == 0

    pending.refresh_from_db()
    assert (pending.status, pending.payment_intent_id) == (Status.CANCELED, held["id"])
    assert localstripe.get(f"/v1/payment_intents/{held['id']}")["status"] == "canceled"
    assert _releases(pending) == 1
    assert len(front.sent("POST", f"/v1/payment_intents/{held['id']}/cancel")) == 1


def test_stripe_s_webhook_for_a_creation_whose_answer_was_lost_records_the_hold(
    card_user, front, localstripe, send_event
):
    front.lose_answer("POST", "/v1/payment_intents")
    with pytest.raises(StripeServiceError):
        billing_holds.authorization_create(user=card_user, estimated_duration=5)
    pending = PaymentAuthorization.objects.get(user=card_user)
    [held] = _intents_at_stripe(localstripe, pending)

    response = send_event(stripe_event("payment_intent.amount_capturable_updated", held))

    assert response.status_code == 200
    pending.refresh_from_db()
    assert (pending.status, pending.payment_intent_id) == (Status.REQUIRES_CAPTURE, held["id"])


def test_a_creation_stripe_never_received_is_recorded_as_not_created(card_user, front, localstripe):
    front.script_error("POST", "/v1/payment_intents", status=500, error={"type": "api_error", "message": "down"})

    with pytest.raises(StripeServiceError):
        billing_holds.authorization_create(user=card_user, estimated_duration=5)

    assert _sweep() == 0
    pending = PaymentAuthorization.objects.get(user=card_user)
    assert (pending.status, pending.failure_code) == (Status.FAILED, billing_holds.NOT_CREATED)
    assert _intents_at_stripe(localstripe, pending) == []


def test_a_retry_with_the_same_key_adopts_the_hold_stripe_placed_instead_of_placing_another(
    card_user, front, localstripe
):
    front.lose_answer("POST", "/v1/payment_intents")
    intent = billing_holds.authorization_intend(user=card_user, estimated_duration=5, key="series-test-1")
    with pytest.raises(StripeServiceError):
        billing_holds.authorization_place(authorization=intent)
    # The first worker's turn has run out (it would have given up on Stripe by now).
    PaymentAuthorization.objects.filter(pk=intent.pk).update(stripe_call_started_at=timezone.now() - timedelta(hours=1))

    again = billing_holds.authorization_intend(user=card_user, estimated_duration=5, key="series-test-1")
    placed = billing_holds.authorization_place(authorization=again).authorization

    assert again.pk == intent.pk
    [held] = _intents_at_stripe(localstripe, intent)
    assert (placed.status, placed.payment_intent_id) == (Status.REQUIRES_CAPTURE, held["id"])
    assert len(front.sent("POST", "/v1/payment_intents")) == 1


def test_the_sweeper_releases_a_hold_no_call_took_after_the_grace(authorization, localstripe):
    assert unused_holds.authorizations_sweep_unattached(grace=timedelta(hours=1)) == 0
    assert unused_holds.authorizations_sweep_unattached(grace=timedelta(0)) == 1

    authorization.refresh_from_db()
    assert authorization.status == Status.CANCELED
    assert localstripe.get(f"/v1/payment_intents/{authorization.payment_intent_id}")["status"] == "canceled"


def test_the_grace_is_a_setting(authorization, settings):
    settings.UNATTACHED_HOLD_GRACE_SECONDS = 3600
    assert unused_holds.authorizations_sweep_unattached() == 0
    PaymentAuthorization.objects.filter(pk=authorization.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert unused_holds.authorizations_sweep_unattached() == 1


@pytest.mark.parametrize("attach", ["call", "booking"])
def test_the_sweeper_never_releases_a_hold_a_call_or_a_booking_took(authorization, front, attach):
    if attach == "call":
        billing_holds.authorization_attach_call(authorization=authorization, call_id=authorization.pk)
    else:
        billing_holds.authorization_reserve_for_booking(authorization=authorization)

    assert _sweep() == 0

    authorization.refresh_from_db()
    assert authorization.status == Status.REQUIRES_CAPTURE
    assert front.sent("POST", f"/v1/payment_intents/{authorization.payment_intent_id}/cancel") == []


# --- the owner's cancel ----------------------------------------------------------------------


def test_the_owner_cancels_a_hold_they_no_longer_need(authorization, card_user, localstripe):
    response = client_for(card_user).post(
        CANCEL_URL, {"payment_intent_id": authorization.payment_intent_id}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "payment_intent_id": authorization.payment_intent_id,
        "status": "canceled",
        "message": "Hold released",
    }
    assert localstripe.get(f"/v1/payment_intents/{authorization.payment_intent_id}")["status"] == "canceled"
    assert _releases(authorization) == 1


def test_cancelling_twice_releases_once(authorization, card_user, front):
    client = client_for(card_user)
    for _ in range(2):
        response = client.post(CANCEL_URL, {"payment_intent_id": authorization.payment_intent_id}, format="json")
        assert response.status_code == 200
    assert len(front.sent("POST", f"/v1/payment_intents/{authorization.payment_intent_id}/cancel")) == 1


def test_someone_elses_hold_is_not_found(authorization, user_factory):
    response = client_for(user_factory()).post(
        CANCEL_URL, {"payment_intent_id": authorization.payment_intent_id}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"
    authorization.refresh_from_db()
    assert authorization.status == Status.REQUIRES_CAPTURE


def test_a_hold_a_call_took_cannot_be_cancelled(authorization, card_user, front):
    billing_holds.authorization_attach_call(authorization=authorization, call_id=authorization.pk)

    response = client_for(card_user).post(
        CANCEL_URL, {"payment_intent_id": authorization.payment_intent_id}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"
    assert front.sent("POST", f"/v1/payment_intents/{authorization.payment_intent_id}/cancel") == []


def test_cancel_without_an_id_is_a_validation_error(card_user):
    response = client_for(card_user).post(CANCEL_URL, {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"
    assert "payment_intent_id" in response.json()["details"]
