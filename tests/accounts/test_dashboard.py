"""Account pages call the same services as the API and show the same messages."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_register_page_shows_the_services_validation_message(client):
    response = client.post(
        "/register", {"name": "Ann", "email": "ann@example.com", "phone": "+15551234567", "password": "weak"}
    )

    assert response.status_code == 200
    assert "Password must have at least 8 characters" in response.content.decode()
    assert not User.objects.exists()


def test_register_page_reports_a_taken_email(client, user):
    response = client.post(
        "/register", {"name": "Ann", "email": user.email, "phone": "+15559876543", "password": "Secure-Pass1"}
    )

    assert "Email already registered." in response.content.decode()


def test_login_page_signs_in_and_follows_a_local_next(client, user, password):
    response = client.post("/login?next=/profile", {"email": user.email, "password": password})

    assert response.status_code == 302
    assert response["Location"] == "/profile"


def test_login_page_ignores_an_offsite_next(client, user, password):
    response = client.post("/login?next=https://evil.example.com/", {"email": user.email, "password": password})

    assert response["Location"] == "/profile"


def test_login_page_shows_the_lockout(client, user, password, settings):
    settings.RATELIMIT_ENABLED = False
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() + timezone.timedelta(minutes=30))

    response = client.post("/login", {"email": user.email, "password": password})

    assert "The account is locked" in response.content.decode()


def test_profile_requires_login(client):
    response = client.get("/profile")

    assert response.status_code == 302
    assert response["Location"].startswith("/login")


def test_forgot_and_reset_password_pages(client, user, mailoutbox):
    client.post("/forgot-password", {"email": user.email})
    path = re.search(r"https?://[^/]+(/reset-password/\S+)", mailoutbox[0].body).group(1)

    response = client.post(path, {"new_password": "Fresh-Pass-42"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Fresh-Pass-42")


def test_change_password_keeps_the_current_session(client, user, password):
    client.force_login(user)

    client.post("/profile", {"form": "password", "current_password": password, "new_password": "Fresh-Pass-42"})

    assert client.get("/profile").status_code == 200


class TestAdmin:
    @pytest.fixture
    def admin_client(self, client, user_factory):
        client.force_login(user_factory(is_staff=True, is_superuser=True))
        return client

    def test_user_list_searches_by_phone(self, admin_client, user_factory):
        target = user_factory(phone="+15557770000")

        response = admin_client.get("/admin/accounts/user/", {"q": "+15557770000"})

        assert target.email in response.content.decode()

    def test_unlock_action_clears_the_lockout(self, admin_client, user):
        User.objects.filter(pk=user.pk).update(
            locked_until=timezone.now() + timezone.timedelta(minutes=30), failed_login_count=3
        )

        admin_client.post("/admin/accounts/user/", {"action": "unlock_accounts", "_selected_action": [str(user.pk)]})

        user.refresh_from_db()
        assert (user.locked_until, user.failed_login_count) == (None, 0)

    def test_locked_filter_lists_only_locked_accounts(self, admin_client, user, user_factory):
        other = user_factory()
        User.objects.filter(pk=user.pk).update(locked_until=timezone.now() + timezone.timedelta(minutes=30))

        content = admin_client.get("/admin/accounts/user/", {"locked": "yes"}).content.decode()

        assert user.email in content
        assert other.email not in content

    def test_admin_creates_a_user_with_normalised_contact_fields(self, admin_client):
        response = admin_client.post(
            "/admin/accounts/user/add/",
            {
                "email": "New@Example.com",
                "name": "New Person",
                "phone": "+1 555 222 3333",
                "password1": "Secure-Pass1",
                "password2": "Secure-Pass1",
                "usable_password": "true",
            },
        )

        assert response.status_code == 302, response.content.decode()[:2000]
        assert User.objects.get(email="new@example.com").phone == "+15552223333"

    def test_deleting_a_user_drops_their_public_personas_from_cached_lists(self, admin_client, user, api_client):
        from tests.personas.factories import PersonaFactory

        persona = PersonaFactory(owner=user, is_public=True)
        assert persona.name in api_client.get("/api/personas").content.decode()  # now cached

        admin_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})

        assert persona.name not in api_client.get("/api/personas").content.decode()


def test_login_limit_is_one_allowance_shared_by_the_api_and_the_dashboard(client, api_client, user):
    wrong = {"email": user.email, "password": "Wrong123!"}
    for _ in range(3):
        client.post("/login", wrong)
    for _ in range(2):
        api_client.post("/api/auth/login", wrong, format="json")

    page = client.post("/login", wrong)
    api = api_client.post("/api/auth/login", wrong, format="json")

    assert "Too many requests" in page.content.decode()
    assert api.status_code == 429


def test_register_limit_is_one_allowance_shared_by_the_api_and_the_dashboard(client, api_client):
    def details(n: int) -> dict:
        return {"name": "Ann", "email": f"ann{n}@example.com", "phone": f"+1555123456{n}", "password": "Secure-Pass1"}

    assert api_client.post("/api/auth/register", details(0), format="json").status_code == 201
    assert api_client.post("/api/auth/register", details(1), format="json").status_code == 201
    assert client.post("/register", details(2)).status_code == 302

    page = Client().post("/register", details(3))

    assert "Too many requests" in page.content.decode()
    assert not User.objects.filter(email="ann3@example.com").exists()
