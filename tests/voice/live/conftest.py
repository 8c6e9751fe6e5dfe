"""Live calls over real sockets: the project under uvicorn (the `asgi_server` fixture), the
local Twilio, localstripe, and the loopback Deepgram, LLM and ElevenLabs; Twilio's media
stream is played by `tests/fakes/twilio_media.py`. Everything the server does goes through
the real code: the answer TwiML, the consumer, the engine, the providers' adapters, the
status callback and the capture."""

import asyncio
import time

import pytest
import requests
from twilio.request_validator import RequestValidator

from billing.services import holds as billing_holds
from calls.models import Call
from calls.services import placing
from devtools.stream_client import TwilioMediaStream
from personas.models import Persona
from tests.billing.conftest import _stripe_settings, card_user, localstripe, make_card, stripe_client, stripe_front  # noqa: F401
from tests.fakes.deepgram import API_KEY as DEEPGRAM_KEY
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.elevenlabs import API_KEY as ELEVENLABS_KEY
from tests.fakes.elevenlabs_tts import FakeElevenLabsTts
from tests.fakes.openai_sse import API_KEY as LLM_KEY
from tests.fakes.openai_sse import FakeOpenAi, Reply
from tests.fakes.twilio import LocalTwilioServer
from tests.fakes.twilio_media import caller_stream, speech
from tests.personas.factories import PersonaFactory
from voice.consumers import shared_providers


@pytest.fixture(scope="session")
def twilio() -> LocalTwilioServer:
    return LocalTwilioServer.shared()


@pytest.fixture(scope="session")
def deepgram() -> FakeDeepgram:
    # Endpointing a little longer than espeak-ng's pause at a comma, as Deepgram's default is.
    return FakeDeepgram(final_delay=0.35).start()


@pytest.fixture(scope="session")
def llm() -> FakeOpenAi:
    return FakeOpenAi().start()


@pytest.fixture(scope="session")
def tts() -> FakeElevenLabsTts:
    return FakeElevenLabsTts().start()


@pytest.fixture(autouse=True)
def _live_server_settings(settings, transactional_db, asgi_server, twilio, deepgram, llm, tts):
    """The server is our public SITE_URL; Twilio and the providers are the loopback ones.
    The server reads through its own connections, so tests commit."""
    twilio.reset()
    deepgram.utterances, deepgram.streams = [], []
    llm.replies, llm.default_reply, llm.requests = [], Reply(deltas=["Glad", " to", " hear", " it."]), []
    settings.SITE_URL = asgi_server.url
    twilio.configure(settings)
    settings.DEEPGRAM_API_KEY = DEEPGRAM_KEY
    settings.DEEPGRAM_API_URL = deepgram.ws_url
    settings.LLM_API_KEY = LLM_KEY
    settings.LLM_BASE_URL = llm.base_url
    settings.ELEVENLABS_API_KEY = ELEVENLABS_KEY
    settings.ELEVENLABS_API_URL = tts.url
    shared_providers.cache_clear()
    yield  # the `asgi_server` fixture lets the server store each stream's end before the flush
    shared_providers.cache_clear()


def wait_for(condition, *, timeout: float = 15.0, what: str = "the condition"):
    """Bounded poll for something the server does in its own thread."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return result


@pytest.fixture
def persona() -> Persona:
    return PersonaFactory(is_public=True, name="Best Friend", greeting="Hey you! How's your day going?")


@pytest.fixture
def place_call(twilio, persona):
    """Places a call for a person with a card on file, as `POST /api/call` does after its
    checks, and has the local Twilio report it answered (signed callbacks over HTTP)."""

    def place(user, *, estimated_minutes: int = 10) -> Call:
        authorization = billing_holds.authorization_create(
            user=user, estimated_duration=estimated_minutes
        ).authorization
        call = placing.call_create(user=user, phone_number=user.phone, persona=persona, authorization=authorization)
        call = placing.call_dial(call=call)
        twilio.advance(call.sid, "ringing")
        twilio.advance(call.sid, "in-progress")
        call.refresh_from_db()
        assert call.status == Call.Status.IN_PROGRESS
        return call

    return place


@pytest.fixture
def live_call(card_user, place_call) -> Call:  # noqa: F811 (the billing fixture)
    return place_call(card_user)


@pytest.fixture
def open_stream(asgi_server, twilio):
    """Twilio's media stream for a call, as Twilio opens it once the person answers."""

    def open_for(call: Call, **options):
        options.setdefault("auth_token", twilio.auth_token)
        return caller_stream(ws_url=asgi_server.ws_url, call=call, **options)

    return open_for


async def hear_the_opening(stream: TwilioMediaStream, *, quiet: float = 0.5) -> bool:
    """Twilio opens the stream and the person picks up: waits out the persona's opening line."""
    await stream.open()
    stream.start_line()
    return await stream.listen(timeout=15, quiet=quiet)


async def say_and_hear_the_reply(stream: TwilioMediaStream, words: str) -> bool:
    """The person says `words`; waits out what the persona says back."""
    stream.say(speech(words))
    return await stream.listen(timeout=15, quiet=0.5)


def run(scenario) -> object:
    """Runs an async scenario from a sync test (the ORM stays in the sync parts)."""
    return asyncio.run(scenario)


@pytest.fixture
def twilio_post(asgi_server, twilio):
    """A form POST to the server signed as Twilio signs its webhooks."""

    def post(path: str, params: dict[str, str]) -> requests.Response:
        url = f"{asgi_server.url}{path}"
        signature = RequestValidator(twilio.auth_token).compute_signature(url, params)
        return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)

    return post
