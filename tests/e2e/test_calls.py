"""The whole loop in a browser: a new person registers, verifies their phone with the code
the local Twilio texted, adds a card (localstripe), places a call, answers it on the local
Twilio's phone page, hangs up, and finds it completed with its cost in the history. The
call page follows the call live over its websocket; the app runs under uvicorn."""

import pytest
from playwright.sync_api import expect

from billing.models import PaymentAuthorization
from calls.models import Call
from tests.e2e.test_billing import _add_card
from tests.fakes.localstripe_server import LocalStripeServer
from tests.fakes.twilio import LocalTwilioServer
from tests.personas.factories import PersonaFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550123"


@pytest.fixture
def app_url(settings, asgi_server) -> str:
    """The app under uvicorn, talking to localstripe and to the local Twilio, which plays
    calls out for real (autopilot) and posts its callbacks to the app."""
    stripe = LocalStripeServer.shared()
    stripe.reset()
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_API_BASE = stripe.url
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    settings.SITE_URL = asgi_server.url
    return asgi_server.url


@pytest.fixture
def twilio(settings):
    twilio = LocalTwilioServer.shared()
    twilio.reset()
    twilio.autopilot = True
    settings.TWILIO_API_BASE = twilio.url
    settings.TWILIO_ACCOUNT_SID = twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = twilio.auth_token
    settings.TWILIO_VERIFY_SERVICE_SID = twilio.verify_service_sid
    settings.TWILIO_CALLER_ID = twilio.caller_id
    yield twilio
    twilio.reset()


@pytest.fixture
def app_page(browser, app_url):
    context = browser.new_context(base_url=app_url)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_register_verify_pay_call_answer_hang_up_and_see_the_cost(app_page, twilio):
    PersonaFactory(is_public=True, name="Morning Coach", greeting="Rise and shine, champion!")
    page = app_page

    page.goto("/register")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Phone").fill(PHONE)
    page.get_by_label("Password").fill("Analytical-1843!")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()

    page.get_by_role("link", name="Billing").click()
    _add_card(page, "4242424242424242")

    page.get_by_role("link", name="Call now").click()
    page.get_by_role("button", name="Text me a code").click()
    expect(page.get_by_text("We texted a code to …0123.")).to_be_visible()
    page.get_by_label("Code from the text").fill(twilio.verification_code(PHONE))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("…0123 is verified.")).to_be_visible()

    page.get_by_label("Who calls you").select_option(label="Morning Coach")
    page.get_by_label("Length (minutes)").fill("2")
    expect(page.locator("#estimate")).to_have_text("$1.05")
    page.get_by_role("button", name="Call me now").click()
    expect(page.get_by_role("heading", name="Call with Morning Coach")).to_be_visible()
    status = page.locator("[data-field=status]")

    phone = page.context.new_page()
    phone.goto(f"{twilio.url}/phone")
    expect(phone.get_by_text("Number …0123")).to_be_visible()
    expect(status).to_have_text("Initiated")
    phone.get_by_role("button", name="Answer").click()
    expect(phone.get_by_text("media stream connected")).to_be_visible()
    expect(status).to_have_text("In progress")
    phone.get_by_role("button", name="Hang up").click()

    expect(page.locator("[data-field=status]")).to_have_text("Completed")
    call = Call.objects.get()
    cost = f"${call.cost_cents / 100:.2f}"
    expect(page.locator("[data-field=cost]")).to_have_text(cost)

    page.get_by_role("link", name="Calls", exact=True).click()
    row = page.locator(f"tr[data-call='{call.pk}']")
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text(cost)
    assert call.authorization.status == PaymentAuthorization.Status.CAPTURED
