"""`000_*` §7.2 / `002_*` §9: the Stripe webhook, with payloads signed like Stripe's."""

import json
import time

import pytest
from django.db import connections

from billing.errors import StripeTemporaryError
from billing.models import AuthorizationSettlement, PaymentAuthorization, PaymentMethod, StripeEvent
from billing.services import holds as billing_holds
from billing.services import payment_methods
from tests.billing.conftest import row_lock_free, sign, stripe_event

pytestmark = pytest.mark.django_db

Status = PaymentAuthorization.Status


def _intent(authorization, status, **fields):
    return {
        "id": authorization.payment_intent_id,
        "object": "payment_intent",
        "status": status,
        "amount": authorization.amount_authorized,
        "currency": "usd",
        **fields,
    }


# --- signature ----------------------------------------------------------------------------


def test_bad_signature_is_400_and_changes_nothing(api_client, authorization):
    payload = json.dumps(stripe_event("payment_intent.canceled", _intent(authorization, "canceled")))

    response = api_client.post(
        "/api/stripe/webhook",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, secret="whsec_someone_else"),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_SIGNATURE"
    assert not StripeEvent.objects.exists()
    assert PaymentAuthorization.objects.get(pk=authorization.pk).status == Status.REQUIRES_CAPTURE


def test_missing_signature_is_400(api_client):
    payload = json.dumps(stripe_event("invoice.paid", {"id": "in_1"}))

    response = api_client.post("/api/stripe/webhook", data=payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_SIGNATURE"
    assert not StripeEvent.objects.exists()


def test_signature_over_a_different_body_is_400(api_client):
    signed = json.dumps(stripe_event("invoice.paid", {"id": "in_1"}))
    tampered = signed.replace("in_1", "in_2")

    response = api_client.post(
        "/api/stripe/webhook", data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(signed)
    )

    assert response.status_code == 400


def test_timestamp_older_than_five_minutes_is_400(send_event):
    response = send_event(stripe_event("invoice.paid", {"id": "in_1"}), timestamp=int(time.time()) - 301)

    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_SIGNATURE"
    assert not StripeEvent.objects.exists()


def test_signed_body_that_is_not_an_event_is_400(api_client):
    payload = json.dumps({"hello": "world"})

    response = api_client.post(
        "/api/stripe/webhook", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"


def test_without_a_configured_secret_the_webhook_is_unavailable(send_event, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = send_event(stripe_event("invoice.paid", {"id": "in_1"}), secret="")

    assert response.status_code == 503
    assert response.json()["error"] == "SERVICE_UNAVAILABLE"


def test_webhook_has_no_rate_limit(send_event):
    responses = [send_event(stripe_event("charge.refunded", {"id": "ch_1"})) for _ in range(3)]

    assert {response.status_code for response in responses} == {200}
    assert all("X-RateLimit-Limit" not in response for response in responses)


# --- storing events once ------------------------------------------------------------------


def test_unknown_event_types_are_stored_and_acknowledged(send_event):
    response = send_event(stripe_event("charge.refunded", {"id": "ch_1"}, event_id="evt_unknown"))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = StripeEvent.objects.get(event_id="evt_unknown")
    assert event.type == "charge.refunded"
    assert event.processed_at is not None


def test_duplicate_delivery_is_acknowledged_and_ignored(send_event, card_user, make_card, stripe_client):
    spare = make_card("5555555555554444")
    customer_id = card_user.stripe_customer.customer_id
    stripe_client.v1.payment_methods.attach(spare, params={"customer": customer_id})
    event = stripe_event(
        "payment_method.attached",
        {"id": spare, "object": "payment_method", "type": "card", "customer": customer_id, "card": {"last4": "4444"}},
    )
    send_event(event)
    PaymentMethod.objects.filter(stripe_id=spare).delete()  # so a second application would show

    response = send_event(event)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": True}
    assert not PaymentMethod.objects.filter(stripe_id=spare).exists()
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1


def test_failed_handler_leaves_the_event_for_stripe_to_redeliver(send_event, front):
    front.script_error("GET", "/v1/subscriptions/sub_1", status=500, error={"type": "api_error"})
    event = stripe_event("customer.subscription.updated", {"id": "sub_1", "object": "subscription"})

    failed = send_event(event)
    retried = send_event(event)

    assert failed.status_code == 500
    assert failed.json()["error"] == "STRIPE_ERROR"
    assert retried.status_code == 200
    assert retried.json()["duplicate"] is False
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert (stored.attempts, stored.processed_at is not None) == (2, True)
    assert "StripeTemporaryError" in stored.last_error


# --- payment intents ----------------------------------------------------------------------


def test_payment_intent_succeeded_completes_a_capture_whose_worker_died(send_event, authorization, front):
    front.script_error("POST", f"/v1/payment_intents/{authorization.payment_intent_id}/capture", status=500, error={})
    with pytest.raises(StripeTemporaryError):  # the claim stays in flight
        billing_holds.authorization_capture(authorization=authorization, seconds=330)

    send_event(stripe_event("payment_intent.succeeded", _intent(authorization, "succeeded", amount_received=245)))

    recorded = PaymentAuthorization.objects.get(pk=authorization.pk)
    assert (recorded.status, recorded.amount_captured) == (Status.CAPTURED, 245)
    assert AuthorizationSettlement.objects.get(authorization=authorization).source == "stripe"
    # The task's retry now finds the hold settled and asks Stripe nothing.
    billing_holds.authorization_capture(authorization=authorization, seconds=330)
    assert len(front.sent("POST", f"/v1/payment_intents/{authorization.payment_intent_id}/capture")) == 1


def test_canceled_arriving_after_our_capture_does_not_uncapture(send_event, authorization):
    billing_holds.authorization_capture(authorization=authorization, seconds=330)

    send_event(stripe_event("payment_intent.canceled", _intent(authorization, "canceled")))

    recorded = PaymentAuthorization.objects.get(pk=authorization.pk)
    assert (recorded.status, recorded.amount_captured) == (Status.CAPTURED, 245)
    assert AuthorizationSettlement.objects.filter(authorization=authorization).count() == 1


def test_replayed_succeeded_events_capture_once(send_event, authorization):
    succeeded = _intent(authorization, "succeeded", amount_received=300)
    send_event(stripe_event("payment_intent.succeeded", succeeded))
    send_event(stripe_event("payment_intent.succeeded", succeeded))  # a new event id, same news

    assert AuthorizationSettlement.objects.filter(authorization=authorization).count() == 1
    assert PaymentAuthorization.objects.get(pk=authorization.pk).amount_captured == 300


def test_hold_dropped_by_stripe_is_recorded_as_released(send_event, authorization):
    send_event(stripe_event("payment_intent.canceled", _intent(authorization, "canceled")))

    recorded = PaymentAuthorization.objects.get(pk=authorization.pk)
    assert (recorded.status, recorded.amount_captured) == (Status.CANCELED, 0)
    assert AuthorizationSettlement.objects.get(authorization=authorization).kind == "release"


def test_stale_requires_capture_snapshot_after_capture_changes_nothing(send_event, authorization):
    billing_holds.authorization_capture(authorization=authorization, seconds=60)

    send_event(stripe_event("payment_intent.amount_capturable_updated", _intent(authorization, "requires_capture")))

    assert PaymentAuthorization.objects.get(pk=authorization.pk).status == Status.CAPTURED


def test_payment_failed_marks_a_hold_awaiting_authentication_failed(send_event, card_user, make_card):
    payment_methods.payment_method_add(
        user=card_user, payment_method_id=make_card("4000002500003155"), set_as_default=True
    )
    authorization = billing_holds.authorization_create(user=card_user, estimated_duration=5).authorization

    send_event(stripe_event("payment_intent.payment_failed", _intent(authorization, "requires_payment_method")))

    assert PaymentAuthorization.objects.get(pk=authorization.pk).status == Status.FAILED


def test_events_for_intents_that_are_not_ours_are_acknowledged(send_event):
    response = send_event(stripe_event("payment_intent.succeeded", {"id": "pi_elsewhere", "status": "succeeded"}))

    assert response.status_code == 200


# --- payment methods ----------------------------------------------------------------------


def test_card_attached_elsewhere_is_added(send_event, card_user, make_card, stripe_client):
    spare = make_card("5555555555554444")
    customer_id = card_user.stripe_customer.customer_id
    attached = stripe_client.v1.payment_methods.attach(spare, params={"customer": customer_id}).to_dict()

    send_event(stripe_event("payment_method.attached", attached))

    method = PaymentMethod.objects.get(stripe_id=spare)
    assert (method.user, method.last4, method.is_default) == (card_user, "4444", False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connections["default"].vendor != "postgresql", reason="Row locks need PostgreSQL (CI runs it).")
def test_no_lock_is_held_on_the_event_while_stripe_is_read(send_event, card_user, make_card, stripe_client, front):
    spare = make_card("5555555555554444")
    customer_id = card_user.stripe_customer.customer_id
    attached = stripe_client.v1.payment_methods.attach(spare, params={"customer": customer_id}).to_dict()
    event = stripe_event("payment_method.attached", attached)
    lock_free_during_read: list[bool] = []
    front.probe(
        "GET",
        f"/v1/payment_methods/{spare}",
        lambda: lock_free_during_read.append(row_lock_free(StripeEvent, event_id=event["id"])),
    )

    assert send_event(event).status_code == 200

    assert lock_free_during_read == [True]
    assert PaymentMethod.objects.filter(stripe_id=spare, user=card_user).exists()


def test_attached_arriving_after_detached_does_not_bring_the_card_back(send_event, card_user, make_card, stripe_client):
    spare = make_card("5555555555554444")
    customer_id = card_user.stripe_customer.customer_id
    attached = stripe_client.v1.payment_methods.attach(spare, params={"customer": customer_id}).to_dict()
    detached = stripe_client.v1.payment_methods.detach(spare).to_dict()

    send_event(stripe_event("payment_method.detached", detached))
    send_event(stripe_event("payment_method.attached", attached))

    assert not PaymentMethod.objects.filter(stripe_id=spare, detached_at__isnull=True).exists()


def test_late_attached_for_a_removed_card_does_not_bring_it_back(send_event, card_user, make_card):
    spare = payment_methods.payment_method_add(user=card_user, payment_method_id=make_card("5555555555554444"))
    attached = {"id": spare.stripe_id, "object": "payment_method", "type": "card", "customer": "cus_x", "card": {}}
    payment_methods.payment_method_remove(user=card_user, payment_method_id=spare.stripe_id)

    send_event(stripe_event("payment_method.attached", {**attached, "customer": card_user.stripe_customer.customer_id}))

    assert PaymentMethod.objects.get(pk=spare.pk).detached_at is not None


def test_detached_default_card_hands_the_default_to_the_newest_card(send_event, card_user, make_card):
    default = card_user.payment_methods.get()
    spare = payment_methods.payment_method_add(user=card_user, payment_method_id=make_card("5555555555554444"))

    send_event(stripe_event("payment_method.detached", {"id": default.stripe_id, "object": "payment_method"}))

    assert PaymentMethod.objects.get(pk=default.pk).detached_at is not None
    assert PaymentMethod.objects.get(pk=spare.pk).is_default is True


def test_detached_for_an_unknown_card_is_a_no_op(send_event):
    response = send_event(stripe_event("payment_method.detached", {"id": "pm_unknown", "object": "payment_method"}))

    assert response.status_code == 200
    assert not PaymentMethod.objects.exists()
