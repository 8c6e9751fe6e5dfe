"""The whole loop in a browser: a new person registers, verifies their phone with the code
the local Twilio texted, adds a card (localstripe), places a call, answers it on the local
Twilio's phone page, hears the persona, hangs up, and finds it completed with its cost in
the history. The call page follows the call live over its websocket, the transcript
included; the app runs under uvicorn, and the call's media stream goes from the local
Twilio to the app's consumer with the local voice (espeak-ng, PocketSphinx, the scripted
persona)."""

import io
import subprocess
import wave

import pytest
from playwright.sync_api import expect

from accounts.models import User
from billing.models import PaymentAuthorization
from billing.services import payment_methods
from calls.models import Call
from tests.e2e.conftest import CHROMIUM_FLAGS, _chromium_path
from tests.e2e.test_billing import _add_card, _log_in, localstripe  # noqa: F401 (fixture)
from tests.factories import UserFactory
from tests.fakes.localstripe_server import LocalStripeServer
from tests.fakes.twilio import LocalTwilioServer
from tests.personas.factories import PersonaFactory
from tests.voice.live.test_phone_bridge import dial
from voice.consumers import shared_providers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550123"


@pytest.fixture
def app_url(settings, asgi_server, localstripe) -> str:  # noqa: F811 (the billing page's fixture)
    """The app under uvicorn, talking to localstripe and to the local Twilio, which plays
    calls out for real (autopilot) and posts its callbacks to the app."""
    settings.SITE_URL = asgi_server.url
    return asgi_server.url


@pytest.fixture
def local_voice(settings):
    """Calls speak and listen with the local stand-ins, whatever keys the environment holds."""
    settings.DEEPGRAM_API_KEY = settings.LLM_API_KEY = settings.LLM_BASE_URL = settings.ELEVENLABS_API_KEY = ""
    shared_providers.cache_clear()
    yield
    shared_providers.cache_clear()


@pytest.fixture
def twilio(settings, local_voice):
    """The local Twilio as `scripts/run` serves it: it plays calls out (autopilot) and bridges
    the phone page to the app's media stream."""
    twilio = LocalTwilioServer.shared()
    twilio.reset()
    twilio.autopilot = True
    twilio.bridge_phone_audio()
    twilio.configure(settings)
    yield twilio
    twilio.reset()


@pytest.fixture
def app_page(browser, app_url):
    context = browser.new_context(base_url=app_url)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_register_verify_pay_call_answer_hear_the_persona_hang_up_and_see_the_cost(app_page, twilio):
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
    page.get_by_role("button", name="Call me now").dblclick()  # a double click places one call
    expect(page.get_by_role("heading", name="Call with Morning Coach")).to_be_visible()
    status = page.locator("[data-field=status]")

    phone = page.context.new_page()
    phone.goto(f"{twilio.url}/phone")
    expect(phone.get_by_text("Number …0123")).to_be_visible()
    expect(status).to_have_text("Initiated")
    phone.get_by_role("button", name="Answer").click()
    expect(phone.get_by_text("media stream connected")).to_be_visible()
    expect(status).to_have_text("In progress")
    transcript = page.locator("[data-live-transcript]")
    expect(transcript).to_contain_text("Morning Coach: Rise and shine, champion!")
    page.reload()  # mid-call: the page starts again from the lines so far
    expect(transcript).to_contain_text("Morning Coach: Rise and shine, champion!")
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
    assert PaymentAuthorization.objects.count() == 1 and len(twilio.calls) == 1


# PocketSphinx hears espeak-ng say this reliably; the scripted persona answers a "how are you".
SPOKEN = "How are you today?"
SILENCE_BEFORE_SPEAKING_SECONDS = 3  # the persona's opening line comes first


def _spoken_wav(text: str, *, silence_before: float) -> bytes:
    """`text` said by espeak-ng after `silence_before` seconds of silence, as a PCM WAV."""
    spoken = subprocess.run(["espeak-ng", "--stdout", text], check=True, capture_output=True, timeout=30).stdout
    with wave.open(io.BytesIO(spoken)) as source:
        rate, width, frames = source.getframerate(), source.getsampwidth(), source.readframes(source.getnframes())
    wav = io.BytesIO()
    with wave.open(wav, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(bytes(int(rate * silence_before) * width) + frames)
    return wav.getvalue()


@pytest.fixture
def microphone_context(browser, app_url, tmp_path):
    """A Chromium of its own whose microphone (Chromium's fake capture device, fed from a WAV)
    says SPOKEN once, after a silence, from the moment a page opens it."""
    wav = tmp_path / "microphone.wav"
    wav.write_bytes(_spoken_wav(SPOKEN, silence_before=SILENCE_BEFORE_SPEAKING_SECONDS))
    microphone_flags = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    ]
    chromium = browser.browser_type.launch(
        executable_path=_chromium_path(), headless=True, args=[*CHROMIUM_FLAGS, *microphone_flags]
    )
    context = chromium.new_context(base_url=app_url)
    context.set_default_timeout(15_000)
    yield context
    context.close()
    chromium.close()


@pytest.fixture
def card_holder(app_url) -> User:
    """A person with a default card on file at localstripe."""
    user = UserFactory(phone=PHONE)
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    stripe = LocalStripeServer.shared().client()
    payment_method = stripe.v1.payment_methods.create(params={"type": "card", "card": card})
    payment_methods.payment_method_add(user=user, payment_method_id=payment_method.id, set_as_default=True)
    return user


def test_what_the_person_says_into_the_phone_page_microphone_shows_in_the_live_transcript(
    microphone_context, card_holder, twilio
):
    persona = PersonaFactory(is_public=True, name="Morning Coach", greeting="Rise and shine, champion!")
    page = microphone_context.new_page()
    _log_in(page, card_holder)
    call = dial(card_holder, persona)
    page.goto(f"/calls/{call.pk}")
    phone = microphone_context.new_page()
    phone.goto(f"{twilio.url}/phone")

    phone.get_by_role("button", name="Answer").click()  # answered here: the page talks on the line

    transcript = page.locator("[data-live-transcript]")
    expect(transcript).to_contain_text("You: how are you", timeout=30_000)
    expect(transcript).to_contain_text("Morning Coach: I'm doing well, thank you for asking.", timeout=30_000)
    phone.get_by_role("button", name="Hang up").click()
    expect(page.locator("[data-field=status]")).to_have_text("Completed")
    expect(page.locator("pre.transcript")).to_contain_text("You: how are you")
