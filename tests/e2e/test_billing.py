"""A signed-in user adds cards on the billing page with Stripe Elements (our stand-in
Stripe.js, served by localstripe), makes one default and sees them listed. The card row
behaves like Stripe's for a person: spaces, MM / YY, the brand, Stripe's messages."""

import itertools

import pytest
from playwright.sync_api import expect

from billing.models import PaymentMethod
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.fakes.localstripe_server import LocalStripeServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def localstripe(settings) -> LocalStripeServer:
    """No Stripe keys: the page loads Stripe.js from localstripe and the app talks to it."""
    server = LocalStripeServer.shared()
    server.reset()
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    return server


def _log_in(page, user) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()


def _type_card(page, number: str, expiry: str = "12 / 30", cvc: str = "123", postal_code: str = "10001") -> None:
    """Types into the card row key by key, as a person would."""
    card = page.locator("#card-element")
    card.get_by_placeholder("1234 1234 1234 1234").press_sequentially(number)
    card.get_by_placeholder("MM / YY").press_sequentially(expiry)
    card.get_by_placeholder("CVC").press_sequentially(cvc)
    card.get_by_placeholder("ZIP").press_sequentially(postal_code)


def _add_card(page, number: str, expiry: str = "12 / 30") -> None:
    _type_card(page, number, expiry)
    page.get_by_role("button", name="Add card").click()
    expect(page.get_by_text(f"Card ending in {number[-4:]} added.")).to_be_visible()


def test_add_a_card_make_it_default_and_see_it_listed(page, localstripe):
    user = UserFactory()
    _log_in(page, user)
    page.get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Billing")).to_be_visible()
    expect(page.get_by_text("No card on file yet")).to_be_visible()

    _add_card(page, "4242 4242 4242 4242")
    visa = page.locator(".billing-card", has_text="4242")
    expect(visa).to_contain_text("Visa •••• 4242")
    expect(visa).to_contain_text("expires 12/2030")
    expect(visa).to_contain_text("Default")

    _add_card(page, "5555 5555 5555 4444")
    second = page.locator(".billing-card", has_text="4444")
    expect(second).to_contain_text("Mastercard •••• 4444")
    expect(second).not_to_contain_text("Default")

    second.get_by_role("button", name="Make default").click()
    expect(page.get_by_text("Default card updated.")).to_be_visible()
    expect(page.locator(".billing-card").first).to_contain_text("4444")
    expect(page.locator(".billing-card", has_text="4444")).to_contain_text("Default")
    expect(page.locator(".billing-card", has_text="4242")).not_to_contain_text("Default")

    default = PaymentMethod.objects.get(user=user, is_default=True)
    assert default.last4 == "4444"
    customer = localstripe.client().v1.customers.retrieve(user.stripe_customer.customer_id)
    assert customer.invoice_settings.default_payment_method == default.stripe_id
    assert localstripe.client().v1.payment_methods.retrieve(default.stripe_id).customer == customer.id


def test_a_declined_card_shows_the_reason_and_is_not_listed(page, localstripe):
    _log_in(page, UserFactory())
    page.goto("/billing")
    _type_card(page, "4000000000000002")
    page.get_by_role("button", name="Add card").click()

    expect(page.locator("#card-errors")).to_have_text("Your card was declined.")
    expect(page.locator(".billing-card")).to_have_count(0)
    assert not PaymentMethod.objects.exists()


def _billing_page(page):
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    _log_in(page, UserFactory())
    page.goto("/billing")
    return page_errors


def test_the_number_is_grouped_and_its_brand_shown_as_it_is_typed(page, localstripe):
    _billing_page(page)
    card = page.locator("#card-element")

    card.get_by_placeholder("1234 1234 1234 1234").press_sequentially("5555555555554444")

    expect(card.get_by_placeholder("1234 1234 1234 1234")).to_have_value("5555 5555 5555 4444")
    expect(card.locator(".ls-card__brand")).to_have_attribute("data-brand", "mastercard")
    expect(card.get_by_placeholder("MM / YY")).to_be_focused()


def test_a_four_digit_year_is_read_as_its_last_two_digits(page, localstripe):
    _billing_page(page)

    _add_card(page, "4242424242424242", expiry="12/2030")

    expect(page.locator(".billing-card", has_text="4242")).to_contain_text("expires 12/2030")
    assert PaymentMethod.objects.get().exp_year == 2030


def test_an_expired_date_is_reported_and_nothing_is_saved(page, localstripe):
    page_errors = _billing_page(page)

    _type_card(page, "4242424242424242", expiry="12 / 20")
    page.get_by_role("button", name="Add card").click()

    expect(page.locator("#card-errors")).to_have_text("Your card's expiration year is in the past.")
    assert not PaymentMethod.objects.exists()
    assert page_errors == []


def test_add_card_on_an_empty_form_shows_a_field_message(page, localstripe):
    page_errors = _billing_page(page)

    page.get_by_role("button", name="Add card").click()

    expect(page.locator("#card-errors")).to_have_text("Your card number is incomplete.")
    expect(page.get_by_placeholder("1234 1234 1234 1234")).to_be_focused()
    assert page_errors == []


def test_a_card_missing_its_security_code_is_named_by_stripe_js(page, localstripe):
    _billing_page(page)
    card = page.locator("#card-element")
    card.get_by_placeholder("1234 1234 1234 1234").press_sequentially("4242424242424242")
    card.get_by_placeholder("MM / YY").press_sequentially("1230")

    page.get_by_role("button", name="Add card").click()

    expect(page.locator("#card-errors")).to_have_text("Your card's security code is incomplete.")
    assert not PaymentMethod.objects.exists()


# The width of an input's placeholder and of the room it has, in CSS pixels.
_PLACEHOLDER_ROOM = """input => {
    const style = getComputedStyle(input);
    const context = document.createElement("canvas").getContext("2d");
    context.font = style.font;
    const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return [context.measureText(input.placeholder).width, room];
}"""


@pytest.mark.parametrize("width", [1280, 375])
def test_no_placeholder_of_the_card_row_is_clipped(page, localstripe, width):
    page.set_viewport_size({"width": width, "height": 900})
    _billing_page(page)
    inputs = page.locator("#card-element input:visible")

    assert inputs.count() >= 1
    for index in range(inputs.count()):
        text_width, room = inputs.nth(index).evaluate(_PLACEHOLDER_ROOM)
        assert text_width <= room, inputs.nth(index).get_attribute("placeholder")
    expect(page.locator("#card-element")).not_to_contain_text("localstripe")


@pytest.mark.parametrize("width", [1280, 375])
def test_a_typed_card_sits_in_one_row_inside_the_card_box(page, localstripe, width):
    page.set_viewport_size({"width": width, "height": 900})
    _billing_page(page)
    page.get_by_placeholder("1234 1234 1234 1234").press_sequentially("4242 4242 4242 4242")
    for name in ("MM / YY", "CVC", "ZIP"):
        text_width, room = page.get_by_placeholder(name).evaluate(_PLACEHOLDER_ROOM)
        assert text_width <= room, name
    for name, typed in (("MM / YY", "12 / 30"), ("CVC", "123"), ("ZIP", "10001")):
        page.get_by_placeholder(name).press_sequentially(typed)
    box = page.locator("#card-element").bounding_box()
    fields = page.locator("#card-element input:visible, #card-element .ls-card__last4:visible")

    boxes = [fields.nth(index).bounding_box() for index in range(fields.count())]

    assert len(boxes) == 4
    if width > 800:
        expect(fields.first).to_have_value("4242 4242 4242 4242")
    else:  # a phone: the complete number slides down to its last digits
        expect(fields.first).to_have_text("4242")
    assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 2
    assert all(box["x"] <= b["x"] and b["x"] + b["width"] <= box["x"] + box["width"] for b in boxes)
    assert all(b["x"] + b["width"] <= after["x"] for b, after in itertools.pairwise(boxes))
