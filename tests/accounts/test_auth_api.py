"""The auth API of seed 000 §1: register, login, logout, me, refresh."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.tokens import token_pair_issue
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

REGISTER = "/api/auth/register"
LOGIN = "/api/auth/login"
LOGOUT = "/api/auth/logout"
ME = "/api/auth/me"
REFRESH = "/api/auth/refresh"


def registration(**overrides) -> dict:
    body = {"name": "John Doe", "email": "User@Example.com", "password": "SecurePass123!", "phone": "+12345678901"}
    body.update(overrides)
    return body


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert "details" in body
    return body


class TestRegister:
    def test_register_creates_user_and_returns_spec_shape(self, api_client):
        response = api_client.post(REGISTER, registration(), format="json")

        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"user", "token", "refresh_token"}
        assert set(body["user"]) == {"id", "email", "name", "phone", "created_at"}
        assert body["user"]["email"] == "user@example.com"
        assert body["user"]["phone"] == "+12345678901"
        assert User.objects.get(pk=body["user"]["id"]).check_password("SecurePass123!")

    def test_registered_token_authenticates(self, api_client):
        token = api_client.post(REGISTER, registration(), format="json").json()["token"]

        response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")

        assert response.status_code == 200
        assert response.json()["user"]["email"] == "user@example.com"

    def test_register_normalises_phone_separators(self, api_client):
        response = api_client.post(REGISTER, registration(phone="+1 (234) 567-8901"), format="json")

        assert response.json()["user"]["phone"] == "+12345678901"

    def test_register_sends_email_verification(self, api_client, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            api_client.post(REGISTER, registration(), format="json")

        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == ["user@example.com"]
        assert "/verify-email/" in mailoutbox[0].body

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", ""),
            ("name", "R2-D2"),
            ("name", "x" * 101),
            ("email", "not-an-email"),
            ("email", f"{'a' * 250}@example.com"),
            ("password", "Sh0rt!a"),
            ("password", "alllowercase1!"),
            ("password", "ALLUPPERCASE1!"),
            ("password", "NoDigitsHere!"),
            ("password", "NoSpecial123"),
            ("phone", "12345678901"),
            ("phone", "+123"),
            ("phone", "+1234567890123456"),
        ],
    )
    def test_register_rejects_invalid_field(self, api_client, field, value):
        response = api_client.post(REGISTER, registration(**{field: value}), format="json")

        body = assert_error(response, 400, "VALIDATION_ERROR")
        assert field in body["details"]
        assert not User.objects.exists()

    def test_register_reports_every_missing_field(self, api_client):
        body = assert_error(api_client.post(REGISTER, {}, format="json"), 400, "VALIDATION_ERROR")

        assert set(body["details"]) == {"name", "email", "password", "phone"}

    def test_register_duplicate_email_is_409_email_exists(self, api_client, user_factory):
        user_factory(email="user@example.com")

        assert_error(api_client.post(REGISTER, registration(), format="json"), 409, "EMAIL_EXISTS")

    def test_register_duplicate_phone_is_409_phone_exists(self, api_client, user_factory):
        user_factory(phone="+12345678901")

        assert_error(api_client.post(REGISTER, registration(), format="json"), 409, "PHONE_EXISTS")

    def test_register_hashes_with_bcrypt_cost_12(self, api_client, settings):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.BCryptSHA256PasswordHasher"]

        api_client.post(REGISTER, registration(), format="json")

        assert User.objects.get().password.startswith("bcrypt_sha256$$2b$12$")

    def test_project_hasher_is_bcrypt_cost_12(self):
        from callmeback import settings as project_settings

        assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"

    def test_register_is_limited_to_three_per_hour_per_ip(self, api_client):
        for n in range(3):
            response = api_client.post(
                REGISTER, registration(email=f"u{n}@example.com", phone=f"+1555000000{n}"), format="json"
            )
            assert response.status_code == 201
        assert response["X-RateLimit-Limit"] == "3"
        assert response["X-RateLimit-Remaining"] == "0"

        response = api_client.post(REGISTER, registration(), format="json")

        body = assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
        assert 0 < body["retry_after"] <= 3600
        assert int(response["Retry-After"]) == body["retry_after"]


class TestLogin:
    def test_login_returns_user_and_tokens(self, api_client, user, password):
        response = api_client.post(LOGIN, {"email": user.email.upper(), "password": password}, format="json")

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"user", "token", "refresh_token"}
        assert body["user"]["id"] == str(user.pk)

    def test_wrong_password_and_unknown_email_answer_alike(self, api_client, user):
        wrong = api_client.post(LOGIN, {"email": user.email, "password": "Wrong123!"}, format="json")
        unknown = api_client.post(LOGIN, {"email": "nobody@example.com", "password": "Wrong123!"}, format="json")

        assert_error(wrong, 401, "INVALID_CREDENTIALS")
        assert_error(unknown, 401, "INVALID_CREDENTIALS")
        assert wrong.json() == unknown.json()

    def test_login_rejects_malformed_email(self, api_client):
        assert_error(api_client.post(LOGIN, {"email": "nope", "password": "x"}, format="json"), 400, "VALIDATION_ERROR")

    def test_login_is_limited_to_five_per_minute_per_ip(self, api_client, user):
        for _ in range(5):
            api_client.post(LOGIN, {"email": user.email, "password": "Wrong123!"}, format="json")

        response = api_client.post(LOGIN, {"email": user.email, "password": "Wrong123!"}, format="json")

        body = assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
        assert 0 < body["retry_after"] <= 60

    def test_limit_counts_each_ip_apart(self, api_client, user):
        for _ in range(5):
            api_client.post(LOGIN, {"email": user.email, "password": "x"}, format="json", REMOTE_ADDR="10.0.0.1")

        response = api_client.post(LOGIN, {"email": user.email, "password": "x"}, format="json", REMOTE_ADDR="10.0.0.2")

        assert response.status_code == 401

    def test_forwarded_for_is_ignored_without_trusted_proxy(self, api_client, user):
        for n in range(5):
            api_client.post(
                LOGIN, {"email": user.email, "password": "x"}, format="json", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}"
            )

        response = api_client.post(
            LOGIN, {"email": user.email, "password": "x"}, format="json", HTTP_X_FORWARDED_FOR="9.9.9.9"
        )

        assert response.status_code == 429

    def test_forwarded_for_is_used_behind_a_trusted_proxy(self, api_client, user, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        for _ in range(5):
            api_client.post(
                LOGIN, {"email": user.email, "password": "x"}, format="json", HTTP_X_FORWARDED_FOR="1.1.1.1"
            )

        response = api_client.post(
            LOGIN, {"email": user.email, "password": "x"}, format="json", HTTP_X_FORWARDED_FOR="2.2.2.2"
        )

        assert response.status_code == 401


class TestLockout:
    @pytest.fixture(autouse=True)
    def _no_ip_limit(self, settings):
        settings.RATELIMIT_ENABLED = False

    def fail(self, api_client, email, times):
        for _ in range(times):
            api_client.post(LOGIN, {"email": email, "password": "Wrong123!"}, format="json")

    def test_ten_failures_lock_the_account_even_for_the_right_password(self, api_client, user, password):
        self.fail(api_client, user.email, 10)

        response = api_client.post(LOGIN, {"email": user.email, "password": password}, format="json")

        body = assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
        assert 29 * 60 < body["retry_after"] <= 30 * 60
        user.refresh_from_db()
        assert user.is_locked

    def test_nine_failures_do_not_lock(self, api_client, user, password):
        self.fail(api_client, user.email, 9)

        assert api_client.post(LOGIN, {"email": user.email, "password": password}, format="json").status_code == 200

    def test_success_resets_the_failure_count(self, api_client, user, password):
        self.fail(api_client, user.email, 9)
        api_client.post(LOGIN, {"email": user.email, "password": password}, format="json")
        self.fail(api_client, user.email, 9)

        assert api_client.post(LOGIN, {"email": user.email, "password": password}, format="json").status_code == 200

    def test_lock_expires_after_thirty_minutes(self, api_client, user, password):
        self.fail(api_client, user.email, 10)
        User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))

        assert api_client.post(LOGIN, {"email": user.email, "password": password}, format="json").status_code == 200

    def test_unknown_email_never_locks(self, api_client):
        self.fail(api_client, "ghost@example.com", 12)

        response = api_client.post(LOGIN, {"email": "ghost@example.com", "password": "Wrong123!"}, format="json")

        assert_error(response, 401, "INVALID_CREDENTIALS")


class TestLogoutAndRevocation:
    def test_logout_revokes_the_token(self, api_client, user):
        client = client_for(user)

        response = client.post(LOGOUT)

        assert response.status_code == 200
        assert response.json() == {"message": "Logged out successfully"}
        assert_error(client.get(ME), 401, "TOKEN_REVOKED")

    def test_logout_revokes_the_sessions_refresh_token(self, api_client, user):
        pair = token_pair_issue(user=user)
        api_client.post(LOGOUT, HTTP_AUTHORIZATION=f"Bearer {pair.access}")

        response = api_client.post(REFRESH, {"refresh_token": pair.refresh}, format="json")

        assert_error(response, 401, "TOKEN_REVOKED")

    def test_logout_leaves_other_sessions_alive(self, user):
        phone_session, laptop_session = client_for(user), client_for(user)

        phone_session.post(LOGOUT)

        assert laptop_session.get(ME).status_code == 200

    def test_logout_without_token_is_401_unauthorized(self, api_client):
        assert_error(api_client.post(LOGOUT), 401, "UNAUTHORIZED")

    def test_logout_is_limited_to_ten_per_minute_per_user(self, user):
        client = client_for(user)
        for _ in range(10):
            client_for(user).post(LOGOUT)  # each a fresh session of the same user

        assert_error(client.post(LOGOUT), 429, "RATE_LIMIT_EXCEEDED")


class TestMe:
    def test_me_returns_the_current_user_with_verification_flags(self, auth_client, user):
        response = auth_client.get(ME)

        assert response.status_code == 200
        body = response.json()["user"]
        assert body["id"] == str(user.pk)
        assert body["email_verified"] is False
        assert body["phone_verified"] is False
        assert {"id", "email", "name", "phone", "created_at"} <= set(body)

    def test_an_authenticated_request_costs_one_database_query(self, auth_client, django_assert_num_queries):
        # The user and the session's revocation are read together; /me itself reads nothing more.
        with django_assert_num_queries(1):
            assert auth_client.get(ME).status_code == 200

    def test_me_without_token_is_401_unauthorized(self, api_client):
        response = api_client.get(ME)

        assert_error(response, 401, "UNAUTHORIZED")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_me_with_expired_token_is_401_invalid_token(self, api_client, user):
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=-timedelta(seconds=1))

        assert_error(api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}"), 401, "INVALID_TOKEN")

    def test_me_with_forged_token_is_401_invalid_token(self, api_client, user):
        claims = {"token_type": "access", "user_id": str(user.pk), "sid": "x", "ver": 0, "jti": "j", "exp": 9999999999}
        forged = jwt.encode(claims, "a-signing-key-that-is-not-ours-0123456789", algorithm="HS256")

        assert_error(api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {forged}"), 401, "INVALID_TOKEN")

    def test_me_with_refresh_token_is_401_invalid_token(self, api_client, user):
        refresh = token_pair_issue(user=user).refresh

        assert_error(api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {refresh}"), 401, "INVALID_TOKEN")

    def test_me_for_deactivated_user_is_401_invalid_token(self, auth_client, user):
        User.objects.filter(pk=user.pk).update(is_active=False)

        assert_error(auth_client.get(ME), 401, "INVALID_TOKEN")

    def test_access_tokens_last_thirty_days(self, user):
        token = AccessToken(token_pair_issue(user=user).access)

        assert token["exp"] - token["iat"] == 30 * 24 * 3600
        assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] == timedelta(days=30)

    def test_me_is_limited_to_thirty_per_minute_per_user(self, auth_client):
        for _ in range(30):
            response = auth_client.get(ME)
        assert response["X-RateLimit-Remaining"] == "0"

        assert_error(auth_client.get(ME), 429, "RATE_LIMIT_EXCEEDED")


class TestRefresh:
    def test_refresh_issues_a_working_access_token(self, api_client, user):
        pair = token_pair_issue(user=user)

        response = api_client.post(REFRESH, {"refresh_token": pair.refresh}, format="json")

        assert response.status_code == 200
        new_token = response.json()["token"]
        assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {new_token}").status_code == 200

    def test_refresh_with_access_token_is_401_invalid_token(self, api_client, user):
        access = token_pair_issue(user=user).access

        assert_error(api_client.post(REFRESH, {"refresh_token": access}, format="json"), 401, "INVALID_TOKEN")

    def test_refresh_with_garbage_is_401_invalid_token(self, api_client):
        assert_error(api_client.post(REFRESH, {"refresh_token": "garbage"}, format="json"), 401, "INVALID_TOKEN")

    def test_refresh_requires_the_field(self, api_client):
        body = assert_error(api_client.post(REFRESH, {}, format="json"), 400, "VALIDATION_ERROR")

        assert "refresh_token" in body["details"]
