"""`000_*` §6.1-6.4: billing info and cards, against localstripe."""

from billing import gateways
from billing.models import PaymentMethod, StripeCustomer
from billing.services import payment_methods
from tests.conftest import client_for


def _add(client, payment_method_id, set_as_default=False):
    return client.post(
        "/api/user/payment-method",
        {"payment_method_id": payment_method_id, "set_as_default": set_as_default},
        format="json",
    )


def _add_two_cards(client, make_card) -> tuple[str, str]:
    """A Visa added first (so the default), then a Mastercard; returns their ids in that order."""
    first, second = make_card(), make_card("5555555555554444")
    _add(client, first)
    _add(client, second)
    return first, second


def test_billing_info_without_cards_has_the_spec_shape(auth_client):
    response = auth_client.get("/api/user/billing")

    assert response.status_code == 200
    assert response.json() == {"payment_methods": [], "balance": 0, "currency": "usd"}
    assert response["X-RateLimit-Limit"] == "30"


def test_billing_info_requires_authentication(api_client):
    response = api_client.get("/api/user/billing")

    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHORIZED"


def test_first_card_is_attached_to_a_new_customer_and_becomes_default(auth_client, user, make_card, stripe_client):
    card_id = make_card()

    response = _add(auth_client, card_id, set_as_default=False)

    assert response.status_code == 201
    assert response.json() == {
        "payment_method": {
            "id": card_id,
            "type": "card",
            "last4": "4242",
            "brand": "visa",
            "exp_month": 12,
            "exp_year": 2030,
            "is_default": True,
        }
    }
    customer_id = StripeCustomer.objects.get(user=user).customer_id
    assert stripe_client.v1.payment_methods.retrieve(card_id).customer == customer_id
    customer = stripe_client.v1.customers.retrieve(customer_id)
    assert customer.invoice_settings.default_payment_method == card_id
    assert customer.metadata["user_id"] == str(user.pk)


def test_cards_are_listed_default_first(auth_client, make_card):
    first, second = _add_two_cards(auth_client, make_card)

    methods = auth_client.get("/api/user/billing").json()["payment_methods"]

    assert [(m["id"], m["last4"], m["is_default"]) for m in methods] == [(first, "4242", True), (second, "4444", False)]


def test_adding_a_card_as_default_moves_the_default(auth_client, user, make_card, stripe_client):
    first, second = make_card(), make_card("5555555555554444")
    _add(auth_client, first)

    response = _add(auth_client, second, set_as_default=True)

    assert response.json()["payment_method"]["is_default"] is True
    assert PaymentMethod.objects.get(stripe_id=first).is_default is False
    customer = stripe_client.v1.customers.retrieve(user.stripe_customer.customer_id)
    assert customer.invoice_settings.default_payment_method == second


def test_one_customer_serves_every_card(auth_client, user, make_card):
    _add(auth_client, make_card())
    _add(auth_client, make_card("5555555555554444"))

    assert StripeCustomer.objects.filter(user=user).count() == 1


def test_malformed_payment_method_id_is_a_validation_error_and_writes_nothing(auth_client):
    response = _add(auth_client, "card_4242; DROP TABLE")

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"
    assert response.json()["details"] == {"payment_method_id": ["Invalid payment method."]}
    assert not StripeCustomer.objects.exists()


def test_missing_payment_method_id_is_a_validation_error(auth_client):
    response = auth_client.post("/api/user/payment-method", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"
    assert "payment_method_id" in response.json()["details"]


def test_unknown_payment_method_is_a_validation_error(auth_client):
    response = _add(auth_client, "pm_doesnotexist123")

    assert response.status_code == 400
    assert response.json() == {
        "error": "VALIDATION_ERROR",
        "message": "Invalid payment method.",
        "details": {"payment_method_id": ["Invalid payment method."]},
    }
    assert not PaymentMethod.objects.exists()


def test_card_declined_on_attach_is_402_card_declined(auth_client, make_card):
    response = _add(auth_client, make_card("4000000000000002"))

    assert response.status_code == 402
    assert response.json()["error"] == "CARD_DECLINED"
    assert not PaymentMethod.objects.exists()


def test_another_users_card_cannot_be_added(auth_client, user_factory, make_card):
    card_id = make_card()
    _add(client_for(user_factory()), card_id)

    response = _add(auth_client, card_id)

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"


def test_adding_the_same_card_twice_keeps_one_record(auth_client, make_card):
    card_id = make_card()
    _add(auth_client, card_id)

    response = _add(auth_client, card_id)

    assert response.status_code == 201
    assert PaymentMethod.objects.filter(stripe_id=card_id).count() == 1


def test_default_card_cannot_be_removed(auth_client, make_card):
    card_id = make_card()
    _add(auth_client, card_id)

    response = auth_client.delete(f"/api/user/payment-method/{card_id}")

    assert response.status_code == 400
    assert response.json()["error"] == "CANNOT_REMOVE_DEFAULT"
    assert auth_client.get("/api/user/billing").json()["payment_methods"][0]["id"] == card_id


def test_removing_a_card_detaches_it_at_stripe(auth_client, make_card, stripe_client):
    default, spare = _add_two_cards(auth_client, make_card)

    response = auth_client.delete(f"/api/user/payment-method/{spare}")

    assert response.status_code == 200
    assert response.json() == {"message": "Payment method removed"}
    assert [m["id"] for m in auth_client.get("/api/user/billing").json()["payment_methods"]] == [default]
    assert stripe_client.v1.payment_methods.retrieve(spare).customer is None


def test_removing_another_users_card_is_not_found(auth_client, user_factory, make_card):
    other = client_for(user_factory())
    _, spare = _add_two_cards(other, make_card)

    response = auth_client.delete(f"/api/user/payment-method/{spare}")

    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"
    assert PaymentMethod.objects.get(stripe_id=spare).detached_at is None


def test_removed_card_cannot_be_removed_again(auth_client, make_card):
    _, spare = _add_two_cards(auth_client, make_card)
    auth_client.delete(f"/api/user/payment-method/{spare}")

    response = auth_client.delete(f"/api/user/payment-method/{spare}")

    assert response.status_code == 404


def test_set_default_moves_the_default_here_and_at_stripe(auth_client, user, make_card, stripe_client):
    first, second = _add_two_cards(auth_client, make_card)

    response = auth_client.put(f"/api/user/payment-method/{second}/default")

    assert response.status_code == 200
    assert response.json() == {"message": "Default payment method updated"}
    methods = auth_client.get("/api/user/billing").json()["payment_methods"]
    assert [(m["id"], m["is_default"]) for m in methods] == [(second, True), (first, False)]
    customer = stripe_client.v1.customers.retrieve(user.stripe_customer.customer_id)
    assert customer.invoice_settings.default_payment_method == second


def test_set_default_on_another_users_card_is_not_found(auth_client, user_factory, make_card):
    card_id = make_card()
    _add(client_for(user_factory()), card_id)

    response = auth_client.put(f"/api/user/payment-method/{card_id}/default")

    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"


def test_stripe_outage_on_add_is_500_stripe_error(auth_client, make_card, front):
    card_id = make_card()
    front.script_error("POST", "/v1/customers", status=500, error={"type": "api_error", "message": "boom"})

    response = _add(auth_client, card_id)

    assert response.status_code == 500
    assert response.json()["error"] == "STRIPE_ERROR"
    assert not StripeCustomer.objects.exists()


def test_adding_cards_is_rate_limited_to_ten_an_hour(auth_client):
    for _ in range(10):
        _add(auth_client, "not-a-card")

    response = _add(auth_client, "not-a-card")

    assert response.status_code == 429
    assert response.json()["error"] == "RATE_LIMIT_EXCEEDED"


def _expired_card(stripe_client, *, customer_id: str | None = None) -> str:
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2020, "cvc": "123"}
    card_id = stripe_client.v1.payment_methods.create(params={"type": "card", "card": card}).id
    if customer_id:
        stripe_client.v1.payment_methods.attach(card_id, params={"customer": customer_id})
    return card_id


def test_an_expired_card_is_refused_with_a_clear_message_and_not_recorded(auth_client, stripe_client):
    response = _add(auth_client, _expired_card(stripe_client), set_as_default=True)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "VALIDATION_ERROR"
    assert body["message"] == "This card expired in 12/2020. Use a card that has not expired."
    assert body["details"] == {"payment_method_id": [body["message"]]}
    assert not PaymentMethod.objects.exists()


def test_an_expired_card_saved_through_stripe_js_is_let_go_at_stripe(auth_client, user, stripe_client):
    customer = payment_methods.customer_ensure(user=user)
    card_id = _expired_card(stripe_client, customer_id=customer.customer_id)

    assert _add(auth_client, card_id).status_code == 400

    assert stripe_client.v1.payment_methods.retrieve(card_id).customer is None
    assert not PaymentMethod.objects.exists()


def test_an_expired_card_attached_elsewhere_is_not_recorded_by_the_webhook(user, stripe_client):
    customer = payment_methods.customer_ensure(user=user)
    card_id = _expired_card(stripe_client, customer_id=customer.customer_id)

    assert payment_methods.payment_method_sync_attached(card=gateways.payment_method_retrieve(card_id)) is None
    assert not PaymentMethod.objects.exists()


def test_a_card_is_listed_with_the_brand_stripe_reports(auth_client, make_card):
    response = _add(auth_client, make_card("5555555555554444"))

    assert response.json()["payment_method"]["brand"] == "mastercard"
