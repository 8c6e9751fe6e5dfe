"""Holds for calls: check, capture, release, and money moving exactly once."""

import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from billing import tasks
from billing.errors import NotCapturable, PaymentDeclined, StripeTemporaryError
from billing.models import AuthorizationSettlement, PaymentAuthorization
from billing.services import holds as billing_holds
from billing.services import payment_methods
from callmeback.errors import ValidationFailed
from tests.billing.conftest import row_lock_free
from tests.races import run_together

Status = PaymentAuthorization.Status
API_ERROR = {"type": "api_error", "message": "Stripe had a moment"}


def _captured_at_stripe(localstripe, authorization) -> int:
    """What localstripe actually took: the charge minus what it gave back."""
    charge = localstripe.get(f"/v1/payment_intents/{authorization.payment_intent_id}")["latest_charge"]
    assert charge["captured"] is True
    return charge["amount"] - charge["amount_refunded"]


def _capture_path(authorization) -> str:
    return f"/v1/payment_intents/{authorization.payment_intent_id}/capture"


# --- authorization_check -------------------------------------------------------------------


def test_check_accepts_the_users_fresh_hold(authorization, card_user):
    assert (
        billing_holds.authorization_check(user=card_user, payment_intent_id=authorization.payment_intent_id)
        == authorization
    )


def test_check_refuses_another_users_hold(authorization, user_factory):
    with pytest.raises(ValidationFailed) as error:
        billing_holds.authorization_check(user=user_factory(), payment_intent_id=authorization.payment_intent_id)

    assert error.value.details == {"payment_intent_id": ["No payment authorisation with this id."]}


def test_check_refuses_a_spent_hold(authorization, card_user):
    billing_holds.authorization_capture(authorization=authorization, seconds=60)

    with pytest.raises(ValidationFailed, match="already been used"):
        billing_holds.authorization_check(user=card_user, payment_intent_id=authorization.payment_intent_id)


def test_check_refuses_a_hold_already_paying_for_another_call(authorization, card_user):
    billing_holds.authorization_attach_call(authorization=authorization, call_id=uuid.uuid4())

    with pytest.raises(ValidationFailed, match="already been used"):
        billing_holds.authorization_check(user=card_user, payment_intent_id=authorization.payment_intent_id)


def test_check_refuses_a_hold_that_ends_before_the_call(authorization, card_user):
    call_time = authorization.expires_at + timedelta(minutes=1)

    with pytest.raises(ValidationFailed, match="ends before the call"):
        billing_holds.authorization_check(
            user=card_user, payment_intent_id=authorization.payment_intent_id, valid_until=call_time
        )


def test_check_refuses_a_hold_smaller_than_a_minute_of_talk(authorization, card_user):
    PaymentAuthorization.objects.filter(pk=authorization.pk).update(amount_authorized=64)

    with pytest.raises(ValidationFailed, match="a minute of talk"):
        billing_holds.authorization_check(user=card_user, payment_intent_id=authorization.payment_intent_id)


@pytest.fixture
def hold_needing_3ds(card_user, make_card) -> PaymentAuthorization:
    """A hold on a card whose bank asks for 3-D Secure: not usable until the customer passes it."""
    payment_methods.payment_method_add(
        user=card_user, payment_method_id=make_card("4000002500003155"), set_as_default=True
    )
    authorization = billing_holds.authorization_create(user=card_user, estimated_duration=5).authorization
    assert authorization.status == Status.REQUIRES_ACTION
    return authorization


def test_check_refuses_a_hold_awaiting_authentication(hold_needing_3ds, card_user):
    with pytest.raises(ValidationFailed, match="Complete the card authentication"):
        billing_holds.authorization_check(user=card_user, payment_intent_id=hold_needing_3ds.payment_intent_id)


def test_check_reads_a_completed_authentication_from_stripe(hold_needing_3ds, card_user, localstripe):
    localstripe.authenticate(hold_needing_3ds.payment_intent_id, success=True)

    checked = billing_holds.authorization_check(user=card_user, payment_intent_id=hold_needing_3ds.payment_intent_id)

    assert checked.status == Status.REQUIRES_CAPTURE


def test_check_reports_a_failed_authentication_as_payment_failed(hold_needing_3ds, card_user, localstripe):
    localstripe.authenticate(hold_needing_3ds.payment_intent_id, success=False)

    with pytest.raises(PaymentDeclined):
        billing_holds.authorization_check(user=card_user, payment_intent_id=hold_needing_3ds.payment_intent_id)
    assert PaymentAuthorization.objects.get(pk=hold_needing_3ds.pk).status == Status.FAILED


def test_a_hold_never_authorised_cannot_be_captured_but_can_be_released(hold_needing_3ds):
    with pytest.raises(NotCapturable):
        billing_holds.authorization_capture(authorization=hold_needing_3ds, seconds=60)

    assert billing_holds.authorization_release(authorization=hold_needing_3ds).status == Status.CANCELED


# --- authorization_attach_call ------------------------------------------------------------


def test_a_hold_pays_for_one_call_and_a_call_has_one_hold(authorization, card_user):
    call_id = uuid.uuid4()
    billing_holds.authorization_attach_call(authorization=authorization, call_id=call_id)
    other = billing_holds.authorization_create(user=card_user, estimated_duration=5).authorization

    assert billing_holds.authorization_attach_call(authorization=authorization, call_id=call_id).call_id == call_id
    with pytest.raises(ValidationFailed, match="already been used"):
        billing_holds.authorization_attach_call(authorization=authorization, call_id=uuid.uuid4())
    with pytest.raises(ValidationFailed, match="already has a payment authorisation"):
        billing_holds.authorization_attach_call(authorization=other, call_id=call_id)


# --- capture and release ------------------------------------------------------------------


def test_capture_takes_the_cost_of_the_real_duration(authorization, localstripe):
    captured = billing_holds.authorization_capture(authorization=authorization, seconds=330)

    assert captured.status == Status.CAPTURED
    assert captured.amount_captured == 245
    assert _captured_at_stripe(localstripe, authorization) == 245
    settlement = AuthorizationSettlement.objects.get(authorization=authorization)
    assert (settlement.kind, settlement.amount, settlement.source) == ("capture", 245, "api")


def test_capture_never_takes_more_than_the_hold(authorization, localstripe):
    captured = billing_holds.authorization_capture(authorization=authorization, seconds=3600)

    assert captured.amount_captured == 425
    assert _captured_at_stripe(localstripe, authorization) == 425


def test_zero_length_call_releases_the_hold(authorization, localstripe):
    released = billing_holds.authorization_capture(authorization=authorization, seconds=0)

    assert released.status == Status.CANCELED
    assert released.amount_captured == 0
    assert localstripe.get(f"/v1/payment_intents/{authorization.payment_intent_id}")["status"] == "canceled"
    assert AuthorizationSettlement.objects.get(authorization=authorization).kind == "release"


def test_capturing_twice_captures_once_and_returns_the_first_result(authorization, localstripe, front):
    first = billing_holds.authorization_capture(authorization=authorization, seconds=330)
    second = billing_holds.authorization_capture(authorization=authorization, seconds=600)

    assert (second.status, second.amount_captured) == (first.status, first.amount_captured) == (Status.CAPTURED, 245)
    assert len(front.sent("POST", _capture_path(authorization))) == 1
    assert AuthorizationSettlement.objects.filter(authorization=authorization).count() == 1
    assert _captured_at_stripe(localstripe, authorization) == 245


def test_capture_request_carries_the_holds_idempotency_key(authorization, front):
    billing_holds.authorization_capture(authorization=authorization, seconds=120)

    (sent,) = front.sent("POST", _capture_path(authorization))
    assert sent.idempotency_key == f"capture-{authorization.pk}"
    assert sent.form["amount_to_capture"] == "105"


def test_release_cancels_the_intent_once(authorization, localstripe, front):
    billing_holds.authorization_release(authorization=authorization)
    again = billing_holds.authorization_release(authorization=authorization)

    assert again.status == Status.CANCELED
    cancels = front.sent("POST", f"/v1/payment_intents/{authorization.payment_intent_id}/cancel")
    assert [request.idempotency_key for request in cancels] == [f"release-{authorization.pk}"]
    assert localstripe.get(f"/v1/payment_intents/{authorization.payment_intent_id}")["status"] == "canceled"


def test_release_after_capture_changes_nothing(authorization, localstripe):
    billing_holds.authorization_capture(authorization=authorization, seconds=60)

    result = billing_holds.authorization_release(authorization=authorization)

    assert (result.status, result.amount_captured) == (Status.CAPTURED, 65)
    assert _captured_at_stripe(localstripe, authorization) == 65


def test_capture_after_release_changes_nothing(authorization, front):
    billing_holds.authorization_release(authorization=authorization)

    result = billing_holds.authorization_capture(authorization=authorization, seconds=300)

    assert (result.status, result.amount_captured) == (Status.CANCELED, 0)
    assert front.sent("POST", _capture_path(authorization)) == []


def test_failed_capture_keeps_the_claim_and_a_retry_captures_the_claimed_amount(authorization, localstripe, front):
    front.script_error("POST", _capture_path(authorization), status=500, error=API_ERROR)

    with pytest.raises(StripeTemporaryError):
        billing_holds.authorization_capture(authorization=authorization, seconds=330)
    claimed = PaymentAuthorization.objects.get(pk=authorization.pk)
    assert (claimed.status, claimed.amount_to_capture) == (Status.CAPTURING, 245)

    retried = billing_holds.authorization_capture(authorization=authorization, seconds=999)

    assert (retried.status, retried.amount_captured) == (Status.CAPTURED, 245)
    keys = {request.idempotency_key for request in front.sent("POST", _capture_path(authorization))}
    assert keys == {f"capture-{authorization.pk}"}
    assert _captured_at_stripe(localstripe, authorization) == 245


def test_capture_refused_because_the_hold_expired_records_the_release(authorization, stripe_client, front):
    stripe_client.v1.payment_intents.cancel(authorization.payment_intent_id)  # Stripe dropped the hold
    front.script_error(
        "POST",
        _capture_path(authorization),
        status=400,
        error={"type": "invalid_request_error", "code": "payment_intent_unexpected_state"},
    )

    result = billing_holds.authorization_capture(authorization=authorization, seconds=300)

    assert (result.status, result.amount_captured) == (Status.CANCELED, 0)


# --- the Celery tasks ---------------------------------------------------------------------


def test_capture_task_retries_a_stripe_outage_and_captures_once(authorization, localstripe, front):
    front.script_error("POST", _capture_path(authorization), status=503, error=API_ERROR)

    # throw=False lets Celery run the retry the way a worker would, instead of raising Retry.
    result = tasks.capture_authorization.apply(args=(str(authorization.pk), 330), throw=False)

    assert result.result == Status.CAPTURED
    assert len(front.sent("POST", _capture_path(authorization))) == 2
    assert AuthorizationSettlement.objects.filter(authorization=authorization).count() == 1
    assert _captured_at_stripe(localstripe, authorization) == 245


def test_capture_task_run_twice_captures_once(authorization, front):
    tasks.capture_authorization.delay(str(authorization.pk), 330)
    tasks.capture_authorization.delay(str(authorization.pk), 330)

    assert len(front.sent("POST", _capture_path(authorization))) == 1
    assert PaymentAuthorization.objects.get(pk=authorization.pk).amount_captured == 245


def test_release_task_releases_the_hold(authorization):
    assert tasks.release_authorization.delay(str(authorization.pk)).get() == Status.CANCELED


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connections["default"].vendor != "postgresql",
    reason="SQLite locks the whole database and has no row locks; the race needs PostgreSQL (CI runs it).",
)
def test_concurrent_capture_tasks_capture_exactly_once(authorization, localstripe, front):
    results: list[str] = []

    def capture() -> None:
        results.append(tasks.capture_authorization.delay(str(authorization.pk), 330).result)

    run_together(capture, capture)  # raises what either capture raised

    assert results == [Status.CAPTURED, Status.CAPTURED]
    assert len(front.sent("POST", _capture_path(authorization))) == 1
    assert AuthorizationSettlement.objects.filter(authorization=authorization, kind="capture").count() == 1
    assert _captured_at_stripe(localstripe, authorization) == 245


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="Row locks need PostgreSQL (CI runs it).")
def test_no_row_lock_is_held_while_stripe_captures(authorization, front):
    lock_free_during_capture: list[bool] = []
    front.probe(
        "POST",
        _capture_path(authorization),
        lambda: lock_free_during_capture.append(row_lock_free(PaymentAuthorization, pk=authorization.pk)),
    )

    captured = billing_holds.authorization_capture(authorization=authorization, seconds=330)

    assert lock_free_during_capture == [True]
    assert (captured.status, captured.amount_captured) == (Status.CAPTURED, 245)


def test_a_claim_another_worker_is_carrying_out_is_not_sent_again(authorization, front):
    PaymentAuthorization.objects.filter(pk=authorization.pk).update(
        status=Status.CAPTURING, amount_to_capture=225, stripe_call_started_at=timezone.now()
    )

    assert billing_holds.authorizations_finish_in_flight(grace=timedelta(0)) == 0
    assert front.sent("POST", _capture_path(authorization)) == []


# --- the sweeper --------------------------------------------------------------------------


def test_sweeper_finishes_a_capture_whose_worker_died(authorization, localstripe, front):
    front.script_error("POST", _capture_path(authorization), status=500, error=API_ERROR)
    with pytest.raises(StripeTemporaryError):
        billing_holds.authorization_capture(authorization=authorization, seconds=300)
    PaymentAuthorization.objects.filter(pk=authorization.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    assert tasks.finish_in_flight_authorizations.delay().get() == 1

    assert PaymentAuthorization.objects.get(pk=authorization.pk).amount_captured == 225
    assert _captured_at_stripe(localstripe, authorization) == 225


def test_sweeper_finishes_a_capture_whose_worker_died_while_asking_stripe(authorization, localstripe):
    an_hour_ago = timezone.now() - timedelta(hours=1)
    PaymentAuthorization.objects.filter(pk=authorization.pk).update(
        status=Status.CAPTURING, amount_to_capture=225, stripe_call_started_at=an_hour_ago, updated_at=an_hour_ago
    )

    assert billing_holds.authorizations_finish_in_flight() == 1

    finished = PaymentAuthorization.objects.get(pk=authorization.pk)
    assert (finished.status, finished.amount_captured, finished.stripe_call_started_at) == (Status.CAPTURED, 225, None)
    assert _captured_at_stripe(localstripe, authorization) == 225


def test_sweeper_leaves_recent_claims_to_their_worker(authorization, front):
    front.script_error("POST", _capture_path(authorization), status=500, error=API_ERROR)
    with pytest.raises(StripeTemporaryError):
        billing_holds.authorization_capture(authorization=authorization, seconds=300)

    assert billing_holds.authorizations_finish_in_flight() == 0
    assert PaymentAuthorization.objects.get(pk=authorization.pk).status == Status.CAPTURING
