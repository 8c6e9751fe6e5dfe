"""`000_*` §6.5: pre-authorising a call, against localstripe (and the front for what it lacks)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from devtools.loopback import bind_loopback
from tests.conftest import client_for

URL = "/api/user/create-payment-intent"


@pytest.fixture
def card_client(card_user):
    return client_for(card_user)


def test_creates_a_manual_capture_hold_for_the_estimate(card_client, card_user, localstripe):
    response = card_client.post(URL, {"estimated_duration": 5}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"payment_intent_id", "client_secret", "amount", "currency"}
    assert body["amount"] == 225
    assert body["currency"] == "usd"
    assert body["client_secret"].startswith(f"{body['payment_intent_id']}_secret_")
    intent = localstripe.get(f"/v1/payment_intents/{body['payment_intent_id']}")
    assert intent["status"] == "requires_capture"
    assert intent["capture_method"] == "manual"
    assert intent["amount"] == 225
    assert intent["payment_method"] == card_user.payment_methods.get().stripe_id
    assert intent["metadata"]["user_id"] == str(card_user.pk)
    assert intent["metadata"]["call_type"] == "immediate"
    assert intent["metadata"]["estimated_duration"] == "5"


def test_records_the_hold_and_when_it_expires(card_client, card_user):
    before = timezone.now()

    body = card_client.post(URL, {"estimated_duration": 10}, format="json").json()

    authorization = PaymentAuthorization.objects.get(payment_intent_id=body["payment_intent_id"])
    assert authorization.user == card_user
    assert authorization.status == PaymentAuthorization.Status.REQUIRES_CAPTURE
    assert authorization.amount_authorized == 425
    assert authorization.amount_captured == 0
    assert authorization.call_id is None
    # A customer-initiated card hold lasts 7 days.
    assert before + timedelta(days=7) <= authorization.expires_at <= timezone.now() + timedelta(days=7)


def test_merchant_initiated_visa_hold_expires_sooner(card_user):
    before = timezone.now()

    created = billing_holds.authorization_create(
        user=card_user, estimated_duration=5, call_type="scheduled", off_session=True
    )

    assert created.authorization.off_session is True
    window = timedelta(days=4, hours=18)
    assert before + window <= created.authorization.expires_at <= timezone.now() + window


def test_stripe_capture_before_is_the_expiry_when_given(card_user, front):
    capture_before = int((timezone.now() + timedelta(days=3)).timestamp())
    intent = {
        "id": "pi_scripted",
        "object": "payment_intent",
        "status": "requires_capture",
        "amount": 225,
        "currency": "usd",
        "client_secret": "pi_scripted_secret_x",
        "latest_charge": {"id": "ch_1", "payment_method_details": {"card": {"capture_before": capture_before}}},
    }
    front.script("POST", "/v1/payment_intents", status=200, body=intent)

    created = billing_holds.authorization_create(user=card_user, estimated_duration=5)

    assert created.authorization.expires_at.timestamp() == capture_before
    assert front.sent("POST", "/v1/payment_intents")[0].form["expand[0]"] == "latest_charge"


@pytest.mark.parametrize("duration", [0, 31, -1, "five", None, 2.5])
def test_estimated_duration_outside_1_to_30_is_a_validation_error(card_client, duration):
    response = card_client.post(URL, {"estimated_duration": duration}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"
    assert "estimated_duration" in response.json()["details"]
    assert not PaymentAuthorization.objects.exists()


def test_without_a_card_is_400_no_payment_method(auth_client):
    response = auth_client.post(URL, {"estimated_duration": 5}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "NO_PAYMENT_METHOD",
        "message": "No payment method on file. Add a card first.",
        "details": {},
    }


def test_declined_card_is_402_card_declined_and_records_the_hold_failed(auth_client, make_card):
    auth_client.post(
        "/api/user/payment-method",
        {"payment_method_id": make_card("4000000000000341"), "set_as_default": True},
        format="json",
    )

    response = auth_client.post(URL, {"estimated_duration": 5}, format="json")

    assert response.status_code == 402
    assert response.json()["error"] == "CARD_DECLINED"
    assert response.json()["message"] == "Your card was declined."
    assert list(PaymentAuthorization.objects.values_list("status", "failure_code")) == [("failed", "card_declined")]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ({"code": "card_declined", "decline_code": "insufficient_funds"}, "INSUFFICIENT_FUNDS"),
        ({"code": "card_declined", "decline_code": "do_not_honor"}, "CARD_DECLINED"),
        ({"code": "expired_card"}, "PAYMENT_FAILED"),
        ({"code": "incorrect_cvc"}, "PAYMENT_FAILED"),
    ],
)
def test_card_errors_map_to_the_spec_codes(card_client, front, error, code):
    front.script_error(
        "POST", "/v1/payment_intents", status=402, error={"type": "card_error", "message": "Declined", **error}
    )

    response = card_client.post(URL, {"estimated_duration": 5}, format="json")

    assert response.status_code == 402
    assert response.json()["error"] == code
    assert list(PaymentAuthorization.objects.values_list("status", flat=True)) == ["failed"]


def test_stripe_failure_is_500_stripe_error(card_client, front):
    front.script_error("POST", "/v1/payment_intents", status=500, error={"type": "api_error", "message": "down"})

    response = card_client.post(URL, {"estimated_duration": 5}, format="json")

    assert response.status_code == 500
    assert response.json() == {
        "error": "STRIPE_ERROR",
        "message": "The payment provider could not complete the request. Please try again.",
        "details": {},
    }


def test_unreachable_stripe_is_500_stripe_error(card_client, settings):
    closed = bind_loopback(0)  # a port nobody listens on once closed
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()

    response = card_client.post(URL, {"estimated_duration": 5}, format="json")

    assert response.status_code == 500
    assert response.json()["error"] == "STRIPE_ERROR"


def test_the_request_carries_an_idempotency_key_from_our_record(card_client, front):
    body = card_client.post(URL, {"estimated_duration": 5}, format="json").json()

    authorization = PaymentAuthorization.objects.get(payment_intent_id=body["payment_intent_id"])
    sent = front.sent("POST", "/v1/payment_intents")
    assert [request.idempotency_key for request in sent] == [f"authorize-{authorization.pk}"]
    assert sent[0].form["metadata[authorization_id]"] == str(authorization.pk)


def test_is_rate_limited_to_ten_a_minute(card_client):
    for _ in range(10):
        card_client.post(URL, {"estimated_duration": 0}, format="json")

    response = card_client.post(URL, {"estimated_duration": 5}, format="json")

    assert response.status_code == 429
