"""Password reset and change, email verification and profile updates."""

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from tests.accounts.test_auth_api import assert_error
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORGOT = "/api/auth/forgot-password"
RESET = "/api/auth/reset-password"
LOGIN = "/api/auth/login"
VERIFY = "/api/auth/verify-email"
PASSWORD = "/api/user/password"
PROFILE = "/api/user/profile"
NEW_PASSWORD = "Brand-New-Pass1"


def token_from_email(message, path: str) -> str:
    match = re.search(rf"{path}/(\S+)", message.body)
    assert match, message.body
    return match.group(1)


class TestPasswordReset:
    def test_reset_end_to_end(self, api_client, user, password, mailoutbox):
        response = api_client.post(FORGOT, {"email": user.email}, format="json")
        assert response.status_code == 200
        token = token_from_email(mailoutbox[0], "/reset-password")

        response = api_client.post(RESET, {"token": token, "new_password": NEW_PASSWORD}, format="json")

        assert response.status_code == 200
        assert api_client.post(LOGIN, {"email": user.email, "password": NEW_PASSWORD}, format="json").status_code == 200
        assert_error(
            api_client.post(LOGIN, {"email": user.email, "password": password}, format="json"),
            401,
            "INVALID_CREDENTIALS",
        )

    def test_forgot_password_answers_the_same_for_unknown_email(self, api_client, user, mailoutbox):
        known = api_client.post(FORGOT, {"email": user.email}, format="json")
        unknown = api_client.post(FORGOT, {"email": "nobody@example.com"}, format="json")

        assert known.status_code == unknown.status_code == 200
        assert known.json() == unknown.json()
        assert [m.to for m in mailoutbox] == [[user.email]]

    def test_reset_token_works_once(self, api_client, user, mailoutbox):
        api_client.post(FORGOT, {"email": user.email}, format="json")
        token = token_from_email(mailoutbox[0], "/reset-password")
        api_client.post(RESET, {"token": token, "new_password": NEW_PASSWORD}, format="json")

        response = api_client.post(RESET, {"token": token, "new_password": "Another-Pass2"}, format="json")

        assert_error(response, 400, "INVALID_TOKEN")

    def test_expired_reset_token_is_refused(self, api_client, user, settings):
        generator = default_token_generator
        two_hours_ago = generator._num_seconds(generator._now()) - 2 * 3600
        secret = default_token_generator._make_token_with_timestamp(user, two_hours_ago, default_token_generator.secret)
        token = f"{urlsafe_base64_encode(force_bytes(user.pk))}.{secret}"

        response = api_client.post(RESET, {"token": token, "new_password": NEW_PASSWORD}, format="json")

        assert settings.PASSWORD_RESET_TIMEOUT == 3600
        assert_error(response, 400, "INVALID_TOKEN")

    def test_reset_rejects_a_weak_password_and_keeps_the_token_usable(self, api_client, user, mailoutbox):
        api_client.post(FORGOT, {"email": user.email}, format="json")
        token = token_from_email(mailoutbox[0], "/reset-password")

        weak = api_client.post(RESET, {"token": token, "new_password": "weak"}, format="json")
        strong = api_client.post(RESET, {"token": token, "new_password": NEW_PASSWORD}, format="json")

        assert "new_password" in assert_error(weak, 400, "VALIDATION_ERROR")["details"]
        assert strong.status_code == 200

    def test_reset_signs_out_existing_sessions(self, api_client, user, mailoutbox):
        old_session = client_for(user)
        api_client.post(FORGOT, {"email": user.email}, format="json")
        token = token_from_email(mailoutbox[0], "/reset-password")
        api_client.post(RESET, {"token": token, "new_password": NEW_PASSWORD}, format="json")

        assert_error(old_session.get("/api/auth/me"), 401, "TOKEN_REVOKED")

    def test_reset_unlocks_a_locked_account(self, api_client, user, mailoutbox, settings):
        settings.RATELIMIT_ENABLED = False
        for _ in range(10):
            api_client.post(LOGIN, {"email": user.email, "password": "Wrong123!"}, format="json")
        api_client.post(FORGOT, {"email": user.email}, format="json")
        token = token_from_email(mailoutbox[0], "/reset-password")

        api_client.post(RESET, {"token": token, "new_password": NEW_PASSWORD}, format="json")

        assert api_client.post(LOGIN, {"email": user.email, "password": NEW_PASSWORD}, format="json").status_code == 200

    def test_forgot_password_is_limited_to_three_per_hour(self, api_client):
        for _ in range(3):
            api_client.post(FORGOT, {"email": "a@example.com"}, format="json")

        assert_error(api_client.post(FORGOT, {"email": "a@example.com"}, format="json"), 429, "RATE_LIMIT_EXCEEDED")


class TestChangePassword:
    def test_change_password(self, auth_client, user, password, api_client):
        response = auth_client.put(
            PASSWORD, {"current_password": password, "new_password": NEW_PASSWORD}, format="json"
        )

        assert response.status_code == 200
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)

    def test_wrong_current_password_is_a_validation_error(self, auth_client):
        response = auth_client.put(
            PASSWORD, {"current_password": "Nope123!", "new_password": NEW_PASSWORD}, format="json"
        )

        assert "current_password" in assert_error(response, 400, "VALIDATION_ERROR")["details"]

    def test_weak_new_password_is_a_validation_error(self, auth_client, password):
        response = auth_client.put(PASSWORD, {"current_password": password, "new_password": "password"}, format="json")

        assert "new_password" in assert_error(response, 400, "VALIDATION_ERROR")["details"]

    def test_change_password_ends_other_sessions(self, auth_client, user, password):
        other_session = client_for(user)

        auth_client.put(PASSWORD, {"current_password": password, "new_password": NEW_PASSWORD}, format="json")

        assert_error(other_session.get("/api/auth/me"), 401, "TOKEN_REVOKED")

    def test_change_password_requires_auth(self, api_client):
        assert_error(api_client.put(PASSWORD, {}, format="json"), 401, "UNAUTHORIZED")


class TestEmailVerification:
    def test_link_from_registration_email_verifies(self, api_client, mailoutbox, django_capture_on_commit_callbacks):
        body = {"name": "Ann Lee", "email": "ann@example.com", "password": "SecurePass123!", "phone": "+15551230000"}
        with django_capture_on_commit_callbacks(execute=True):
            api_client.post("/api/auth/register", body, format="json")
        token = token_from_email(mailoutbox[0], "/verify-email")

        response = api_client.post(VERIFY, {"token": token}, format="json")

        assert response.status_code == 200
        assert User.objects.get(email="ann@example.com").email_verified

    def test_dashboard_link_verifies(self, client, user):
        from accounts.emails import email_verification_token

        response = client.get(f"/verify-email/{email_verification_token(user)}")

        assert response.status_code == 302
        user.refresh_from_db()
        assert user.email_verified

    def test_link_for_an_old_email_no_longer_works(self, api_client, user):
        from accounts.emails import email_verification_token

        token = email_verification_token(user)
        User.objects.filter(pk=user.pk).update(email="changed@example.com")

        assert_error(api_client.post(VERIFY, {"token": token}, format="json"), 400, "INVALID_TOKEN")

    def test_tampered_token_is_refused(self, api_client):
        assert_error(api_client.post(VERIFY, {"token": "abc:def"}, format="json"), 400, "INVALID_TOKEN")


class TestProfile:
    def test_update_name(self, auth_client, user):
        response = auth_client.put(PROFILE, {"name": "Jane O'Neil-Smith"}, format="json")

        assert response.status_code == 200
        body = response.json()["user"]
        assert set(body) == {"id", "name", "email", "phone", "timezone", "updated_at"}
        assert body["name"] == "Jane O'Neil-Smith"

    @pytest.mark.parametrize("name", ["Newcomer T. Tester", "J.R.R. Tolkien", "Sammy Davis Jr."])
    def test_a_name_with_initials_is_accepted(self, auth_client, name):
        response = auth_client.put(PROFILE, {"name": name}, format="json")

        assert response.status_code == 200
        assert response.json()["user"]["name"] == name

    @pytest.mark.parametrize("name", ["..", "A..B", "Tester.2", ". Tester"])
    def test_a_name_of_stray_periods_is_refused(self, auth_client, name):
        assert_error(auth_client.put(PROFILE, {"name": name}, format="json"), 400, "VALIDATION_ERROR")

    def test_changing_email_clears_verified_and_sends_a_new_link(
        self, auth_client, user, mailoutbox, django_capture_on_commit_callbacks
    ):
        User.objects.filter(pk=user.pk).update(email_verified=True)
        with django_capture_on_commit_callbacks(execute=True):
            response = auth_client.put(PROFILE, {"email": "New@Example.com"}, format="json")

        assert response.json()["user"]["email"] == "new@example.com"
        user.refresh_from_db()
        assert user.email_verified is False
        assert mailoutbox[-1].to == ["new@example.com"]

    def test_changing_phone_clears_phone_verified(self, auth_client, user):
        User.objects.filter(pk=user.pk).update(phone_verified=True)

        auth_client.put(PROFILE, {"phone": "+447911123456"}, format="json")

        user.refresh_from_db()
        assert (user.phone, user.phone_verified) == ("+447911123456", False)

    def test_same_email_keeps_verified(self, auth_client, user):
        User.objects.filter(pk=user.pk).update(email_verified=True)

        auth_client.put(PROFILE, {"email": user.email.upper()}, format="json")

        user.refresh_from_db()
        assert user.email_verified

    def test_email_taken_is_409(self, auth_client, user_factory):
        other = user_factory()

        assert_error(auth_client.put(PROFILE, {"email": other.email}, format="json"), 409, "EMAIL_EXISTS")

    def test_phone_taken_is_409(self, auth_client, user_factory):
        other = user_factory()

        assert_error(auth_client.put(PROFILE, {"phone": other.phone}, format="json"), 409, "PHONE_EXISTS")

    def test_invalid_fields_change_nothing(self, auth_client, user):
        response = auth_client.put(PROFILE, {"name": "Valid Name", "phone": "555"}, format="json")

        assert "phone" in assert_error(response, 400, "VALIDATION_ERROR")["details"]
        assert User.objects.get(pk=user.pk).name == user.name
