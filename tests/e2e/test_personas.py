"""A user creates a persona in the dashboard, finds it by search, adds it to contacts and
deletes it, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from personas.models import Contact, Persona
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _premade_voices(settings):
    settings.ELEVENLABS_API_KEY = ""


def test_create_find_add_to_contacts_and_delete_a_persona(page, user):
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Personas").click()
    expect(page.get_by_role("heading", name="Personas", exact=True)).to_be_visible()
    page.get_by_role("link", name="New persona").click()

    form = page.locator("#persona-form")
    form.get_by_label("Name", exact=True).fill("Night Owl")
    form.get_by_label("Description").fill("Too short")
    form.get_by_label("Voice", exact=True).select_option(label="Rachel (female, young, american)")
    form.get_by_label("System prompt").fill("You are a calm night owl who chats softly with people who cannot sleep.")
    form.get_by_label("Tags").fill("calm, night")
    form.get_by_role("button", name="Create persona").click()
    expect(page.get_by_text("Description must be at least 10 characters.")).to_be_visible()

    page.locator("#persona-form").get_by_label("Description").fill("A late-night companion for insomniacs.")
    page.locator("#persona-form").get_by_role("button", name="Create persona").click()
    expect(page.get_by_text("Created Night Owl.")).to_be_visible()
    expect(page.get_by_role("heading", name="Night Owl")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Personas").click()
    page.get_by_label("Search").fill("night owl")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"search=night\+owl"))
    results = page.locator(".persona-card")
    expect(results).to_have_count(1)
    results.get_by_role("link", name="Night Owl").click()

    page.get_by_role("button", name="Add to contacts").click()
    expect(page.get_by_text("Added Night Owl to your contacts.")).to_be_visible()
    expect(page.get_by_role("button", name="Remove from contacts")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Your contacts")).to_be_visible()
    page.locator(".persona-card").get_by_role("link", name="Night Owl").click()

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete Night Owl?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Deleted Night Owl.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.get_by_text("No contacts yet.")).to_be_visible()
    assert not Persona.objects.filter(owner=user).exists()
    assert not Contact.objects.filter(user=user).exists()
