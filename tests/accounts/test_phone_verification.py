"""Proving a phone is yours with a Twilio Verify code, before any call goes to it."""

import pytest

from accounts.models import VerifiedPhoneNumber
from accounts.selectors import phone_is_verified
from tests.calls.conftest import local_twilio, twilio  # noqa: F401  (the local Twilio, wired in)
from tests.conftest import client_for

PHONE = "+14155550123"
OTHER_PHONE = "+442071838750"


@pytest.fixture
def person(user):
    user.phone = PHONE
    user.save(update_fields=["phone"])
    return user


@pytest.fixture
def person_client(person):
    return client_for(person)


def _start(client, **body):
    return client.post("/api/user/phone/verify", body, format="json")


def _check(client, **body):
    return client.post("/api/user/phone/verify/check", body, format="json")


def test_starting_texts_a_code_to_the_profile_phone(person_client, twilio):  # noqa: F811
    response = _start(person_client)

    assert response.status_code == 200
    assert response.json() == {"message": "Verification code sent", "phone": "***0123"}
    assert twilio.verification_code(PHONE)


def test_the_right_code_verifies_the_profile_phone(person, person_client, twilio):  # noqa: F811
    _start(person_client)

    response = _check(person_client, code=twilio.verification_code(PHONE))

    assert response.status_code == 200
    assert response.json() == {"message": "Phone number verified", "phone": "***0123", "phone_verified": True}
    person.refresh_from_db()
    assert person.phone_verified is True
    assert VerifiedPhoneNumber.objects.filter(user=person, phone_number=PHONE).exists()


def test_a_wrong_code_verifies_nothing(person, person_client, twilio):  # noqa: F811
    _start(person_client)
    right = twilio.verification_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"

    response = _check(person_client, code=wrong)

    assert (response.status_code, response.json()["error"]) == (400, "VALIDATION_ERROR")
    assert "code" in response.json()["details"]
    person.refresh_from_db()
    assert person.phone_verified is False
    assert not VerifiedPhoneNumber.objects.exists()


def test_a_code_that_is_not_digits_is_refused_without_asking_twilio(person_client, twilio):  # noqa: F811
    response = _check(person_client, code="12ab")

    assert response.status_code == 400
    assert twilio.requests == []


def test_checking_with_no_code_pending_is_a_validation_error(person_client, twilio):  # noqa: F811
    response = _check(person_client, code="123456")

    assert (response.status_code, response.json()["error"]) == (400, "VALIDATION_ERROR")


def test_another_number_can_be_verified_for_calls_without_touching_the_profile(person, person_client, twilio):  # noqa: F811
    _start(person_client, phone="+44 20 7183 8750")

    response = _check(person_client, phone=OTHER_PHONE, code=twilio.verification_code(OTHER_PHONE))

    assert response.json()["phone_verified"] is False
    assert phone_is_verified(user=person, phone=OTHER_PHONE)
    assert not phone_is_verified(user=person, phone=PHONE)


def test_a_number_outside_the_allowed_countries_gets_no_text(person_client, twilio):  # noqa: F811
    response = _start(person_client, phone="+33142685300")

    assert (response.status_code, response.json()["error"]) == (400, "VALIDATION_ERROR")
    assert "phone" in response.json()["details"]
    assert twilio.requests == []


def test_the_allowed_countries_come_from_the_settings(person_client, twilio, settings):  # noqa: F811
    settings.CALL_ALLOWED_COUNTRIES = ["US"]

    assert _start(person_client, phone=OTHER_PHONE).status_code == 400
    assert _start(person_client).status_code == 200


def test_changing_the_profile_phone_clears_its_verification(person, person_client, twilio):  # noqa: F811
    _start(person_client)
    _check(person_client, code=twilio.verification_code(PHONE))

    response = person_client.put("/api/user/profile", {"phone": "+12025550143"}, format="json")

    assert response.status_code == 200
    person.refresh_from_db()
    assert person.phone_verified is False
    assert not phone_is_verified(user=person, phone="+12025550143")


def test_a_profile_phone_changed_to_a_number_proved_before_is_verified(person, person_client, twilio):  # noqa: F811
    _start(person_client, phone=OTHER_PHONE)
    _check(person_client, phone=OTHER_PHONE, code=twilio.verification_code(OTHER_PHONE))
    person.refresh_from_db()
    assert person.phone_verified is False  # the profile phone is still the other one

    response = person_client.put("/api/user/profile", {"phone": OTHER_PHONE}, format="json")

    assert response.status_code == 200
    person.refresh_from_db()
    assert person.phone_verified is True


def test_verify_refusing_more_texts_is_rate_limit_exceeded(person_client, twilio):  # noqa: F811
    twilio.fail_next("POST", r"/Verifications$", status=429, code=60203, message="Max send attempts reached")

    response = _start(person_client)

    assert (response.status_code, response.json()["error"]) == (429, "RATE_LIMIT_EXCEEDED")
    assert response.json()["retry_after"] > 0


def test_twilio_unreachable_is_a_twilio_error(person_client, settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"

    response = _start(person_client)

    assert (response.status_code, response.json()["error"]) == (500, "TWILIO_ERROR")


def test_codes_are_limited_per_person(person_client, twilio):  # noqa: F811
    statuses = [_start(person_client).status_code for _ in range(6)]

    assert statuses == [200] * 5 + [429]


def test_codes_are_limited_per_address_across_people(user_factory, twilio):  # noqa: F811
    statuses = []
    for number in range(11):
        client = client_for(user_factory(phone=f"+1415555{number:04d}"))
        statuses.append(_start(client).status_code)

    assert statuses == [200] * 10 + [429]


def test_verification_needs_authentication(api_client):
    assert _start(api_client).status_code == 401
    assert _check(api_client, code="123456").status_code == 401


def test_admins_see_a_persons_verified_numbers(client, user_factory, person):
    client.force_login(user_factory(is_staff=True, is_superuser=True))
    VerifiedPhoneNumber.objects.create(user=person, phone_number=OTHER_PHONE)

    response = client.get(f"/admin/accounts/user/{person.pk}/change/")

    assert response.status_code == 200
    assert OTHER_PHONE in response.content.decode()
