"""A new user signs up, logs out, logs back in and edits the profile in a real browser."""

import pytest
from playwright.sync_api import expect

from accounts.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_register_logout_login_and_edit_profile(page):
    page.goto("/register")
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Phone").fill("+1 (555) 010-2030")
    page.get_by_label("Password").fill("Cobol-1959!")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    expect(page.get_by_text("Welcome, Grace Hopper!")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Invalid email or password.")).to_be_visible()

    page.get_by_label("Password").fill("Cobol-1959!")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()

    profile = page.locator("#profile-form")
    profile.get_by_label("Phone").fill("12345")
    profile.get_by_role("button", name="Save profile").click()
    expect(page.locator("#profile-form").get_by_text("Phone must be in E.164 format")).to_be_visible()

    profile = page.locator("#profile-form")
    profile.get_by_label("Name").fill("Grace Brewster Hopper")
    profile.get_by_label("Phone").fill("+15550102031")
    profile.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.locator("#profile-form").get_by_label("Name")).to_have_value("Grace Brewster Hopper")

    user = User.objects.get(email="grace@example.com")
    assert (user.name, user.phone) == ("Grace Brewster Hopper", "+15550102031")
