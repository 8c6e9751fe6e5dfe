"""`POST /api/call` with an `Idempotency-Key` (issue 16, double submit): a client's retry with
the same key gets the first answer, the same call, instead of a second ring."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import VerifiedPhoneNumber
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from billing.services import payment_methods
from callmeback import idempotency
from callmeback.models import IdempotentRequest
from calls.models import Call
from tests.calls.conftest import call_body
from tests.conftest import client_for

OTHER_PHONE = "+14155550999"


def _place(client, persona, hold, key: str | None, **overrides):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/call", call_body(persona, hold, **overrides), format="json", headers=headers)


def test_the_same_key_twice_returns_the_same_call_with_the_same_status_and_body(caller_client, persona, hold, twilio):
    first = _place(caller_client, persona, hold, "tap-1")
    again = _place(caller_client, persona, hold, "tap-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["call"]["id"] == str(Call.objects.get().pk)
    assert len(twilio.calls) == 1


def test_the_same_key_with_another_body_is_a_conflict_and_places_nothing(caller_client, persona, hold, twilio):
    _place(caller_client, persona, hold, "tap-1")

    response = _place(caller_client, persona, hold, "tap-1", call_pretext="Something else")

    assert response.status_code == 409
    assert response.json()["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert Call.objects.count() == 1 and len(twilio.calls) == 1


def test_a_key_whose_first_request_is_still_being_answered_is_a_conflict(caller, caller_client, persona, hold):
    body = call_body(persona, hold)
    IdempotentRequest.objects.create(
        user=caller, scope="place-call", key="tap-1", fingerprint=idempotency._fingerprint(body)
    )

    response = _place(caller_client, persona, hold, "tap-1")

    assert (response.status_code, response.json()["error"]) == (409, "IDEMPOTENCY_KEY_IN_USE")
    assert not Call.objects.exists()


def test_a_first_request_that_died_unanswered_frees_its_key(caller, caller_client, persona, hold, twilio):
    body = call_body(persona, hold)
    IdempotentRequest.objects.create(
        user=caller,
        scope="place-call",
        key="tap-1",
        fingerprint=idempotency._fingerprint(body),
        created_at=timezone.now() - idempotency.ABANDONED_AFTER - timedelta(seconds=1),
    )

    response = _place(caller_client, persona, hold, "tap-1")

    assert response.status_code == 200
    assert Call.objects.count() == 1


def test_a_refused_request_is_not_kept_so_its_retry_is_answered_afresh(caller_client, persona, hold):
    responses = [_place(caller_client, persona, hold, "tap-1", phone_number="bad") for _ in range(2)]

    assert [r.json()["error"] for r in responses] == ["VALIDATION_ERROR", "VALIDATION_ERROR"]
    assert not IdempotentRequest.objects.exists()


def test_keys_are_per_person(caller_client, persona, hold, twilio, user_factory, make_card):
    other = user_factory(phone=OTHER_PHONE, phone_verified=True)
    VerifiedPhoneNumber.objects.create(user=other, phone_number=OTHER_PHONE)
    payment_methods.payment_method_add(user=other, payment_method_id=make_card(), set_as_default=True)
    other_hold = billing_holds.authorization_create(user=other, estimated_duration=5).authorization

    mine = _place(caller_client, persona, hold, "tap-1")
    theirs = _place(client_for(other), persona, other_hold, "tap-1", phone_number=OTHER_PHONE)

    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["call"]["id"] != theirs.json()["call"]["id"]
    assert len(twilio.calls) == 2


def test_a_key_longer_than_255_characters_is_invalid(caller_client, persona, hold):
    response = _place(caller_client, persona, hold, "k" * 256)

    assert (response.status_code, response.json()["error"]) == (400, "VALIDATION_ERROR")
    assert "Idempotency-Key" in response.json()["details"]
    assert PaymentAuthorization.objects.get(pk=hold.pk).status == PaymentAuthorization.Status.REQUIRES_CAPTURE


def test_without_a_key_each_request_is_its_own(caller_client, persona, hold, twilio):
    first = _place(caller_client, persona, hold, None)
    second = _place(caller_client, persona, hold, None)

    assert first.status_code == 200
    assert second.status_code == 400  # no replay: the hold is spent on the first call
    assert not IdempotentRequest.objects.exists()


def test_keys_past_a_day_are_swept(caller, persona):
    old = IdempotentRequest.objects.create(
        user=caller, scope="place-call", key="old", fingerprint="x", created_at=timezone.now() - timedelta(hours=25)
    )
    recent = IdempotentRequest.objects.create(user=caller, scope="place-call", key="recent", fingerprint="x")

    assert idempotency.idempotent_requests_purge() == 1
    assert list(IdempotentRequest.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not IdempotentRequest.objects.filter(pk=old.pk).exists()
