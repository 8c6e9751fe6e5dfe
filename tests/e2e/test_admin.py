"""The admin as an admin meets it: the persona list is readable and fits the screen."""

import pytest
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.personas.factories import RACHEL, PersonaFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _premade_voices(settings):
    settings.ELEVENLABS_API_KEY = ""


def _admin_persona_list(page, width: int):
    PersonaFactory(owner=None, name="Night Owl", voice=RACHEL)
    PersonaFactory(name="A persona with a rather long name for a list", owner__email="someone.long@example.com")
    page.set_viewport_size({"width": width, "height": 800})
    admin = UserFactory(is_staff=True, is_superuser=True)
    page.goto("/admin/login/?next=/admin/personas/persona/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Select persona to change")).to_be_visible()


@pytest.mark.parametrize("width", [1280, 1024])
def test_admin_persona_list_names_voices_and_fits_the_screen(page, width):
    _admin_persona_list(page, width)

    night_owl = page.locator("#result_list tr", has_text="Night Owl")
    expect(night_owl).to_contain_text("Rachel")
    expect(night_owl).to_contain_text("System")
    expect(night_owl).not_to_contain_text(RACHEL)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    results = page.locator("#changelist .results")
    assert results.evaluate("table => table.scrollWidth <= table.clientWidth")
