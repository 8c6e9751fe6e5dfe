"""A private PostgreSQL and Redis, the app's web server and worker against them, and a live
call placed through them, for tests that restart a server in the middle of the call.

Twilio (the local one), Stripe (localstripe) and the voice providers are the loopback ones
of the test process; the app reaches them over real sockets, as in the live-call tests.
"""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings as django_settings

from devtools.processes import free_port
from devtools.stream_client import TwilioMediaStream
from tests.billing.conftest import WEBHOOK_SECRET, localstripe, make_card, stripe_client  # noqa: F401
from tests.fakes.deepgram import API_KEY as DEEPGRAM_KEY
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.elevenlabs import API_KEY as ELEVENLABS_KEY
from tests.fakes.elevenlabs_tts import FakeElevenLabsTts
from tests.fakes.openai_sse import API_KEY as LLM_KEY
from tests.fakes.openai_sse import FakeOpenAi, Reply
from tests.fakes.twilio import LocalTwilioServer
from tests.voice.restarts.servers import (
    AppProcesses,
    PrivatePostgres,
    PrivateRedis,
    log_tail,
    remove_directory,
    temporary_directory,
)


@dataclass
class Servers:
    postgres: PrivatePostgres
    redis: PrivateRedis
    app: AppProcesses


@dataclass(frozen=True)
class PlacedCall:
    id: str
    sid: str
    persona_id: str
    token: str  # the person's API token


@pytest.fixture(scope="module")
def fakes(localstripe):  # noqa: F811 (the billing fixture)
    twilio = LocalTwilioServer.shared()
    deepgram = FakeDeepgram(final_delay=0.35).start()
    llm = FakeOpenAi(default_reply=Reply(deltas=["Glad", " to", " hear", " it."])).start()
    tts = FakeElevenLabsTts().start()
    yield {"twilio": twilio, "deepgram": deepgram, "llm": llm, "tts": tts, "localstripe": localstripe}
    for server in (deepgram, llm, tts):
        server.stop()


@pytest.fixture(scope="module")
def servers(fakes) -> Iterator[Servers]:
    """Started once for the module: PostgreSQL, Redis, the app migrated, its web and worker."""
    directory = temporary_directory()
    postgres, redis = PrivatePostgres(directory), PrivateRedis(directory)
    app = None
    try:
        postgres.create()
        redis.start()
        port = free_port()
        twilio = fakes["twilio"]
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "callmeback.settings",
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "CELERY_BROKER_URL": redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "SECRET_KEY": django_settings.SECRET_KEY,  # the stream tokens the test makes are the server's
            "DEBUG": "true",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "TWILIO_API_BASE": twilio.url,
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_VERIFY_SERVICE_SID": twilio.verify_service_sid,
            "TWILIO_CALLER_ID": twilio.caller_id,
            "STRIPE_SECRET_KEY": "",
            "STRIPE_PUBLISHABLE_KEY": "",
            "STRIPE_API_BASE": fakes["localstripe"].url,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DEEPGRAM_API_KEY": DEEPGRAM_KEY,
            "DEEPGRAM_API_URL": fakes["deepgram"].ws_url,
            "LLM_API_KEY": LLM_KEY,
            "LLM_BASE_URL": fakes["llm"].base_url,
            "ELEVENLABS_API_KEY": ELEVENLABS_KEY,
            "ELEVENLABS_API_URL": fakes["tts"].url,
            "LOG_LEVEL": "INFO",
        }
        app = AppProcesses(directory, environment, port)
        app.manage("migrate", "--no-input", "-v", "0")
        app.start()
        yield Servers(postgres=postgres, redis=redis, app=app)
    finally:
        if app is not None:
            app.stop()
            print("--- the app's log ---", log_tail(app.log), sep="\n")
        print("--- PostgreSQL's log ---", log_tail(postgres.log), sep="\n")
        redis.stop()
        postgres.remove()
        remove_directory(directory)


@pytest.fixture
def llm(fakes) -> FakeOpenAi:
    fakes["llm"].replies, fakes["llm"].requests = [], []
    return fakes["llm"]


@pytest.fixture
def deepgram(fakes) -> FakeDeepgram:
    fakes["deepgram"].utterances, fakes["deepgram"].streams = [], []
    return fakes["deepgram"]


@pytest.fixture
def twilio(fakes) -> LocalTwilioServer:
    """The process's local Twilio as other tests may have left it (a callback delivered through
    Django's test client, say) reset: callbacks go over HTTP to the app's own server."""
    fakes["twilio"].reset()
    return fakes["twilio"]


@pytest.fixture
def live_call(servers, twilio, make_card) -> PlacedCall:  # noqa: F811 (the billing fixture)
    """A call placed through the app (hold, dial) and answered: in progress at Twilio and here."""
    placed = PlacedCall(**json.loads(servers.app.manage("-m", "tests.voice.restarts.app_side", "place", make_card())))
    twilio.advance(placed.sid, "ringing")
    twilio.advance(placed.sid, "in-progress")
    assert inspect(servers, placed)["status"] == "in-progress"
    return placed


def inspect(servers: Servers, call: PlacedCall) -> dict:
    """What the app's database holds of the call and its money."""
    return json.loads(servers.app.manage("-m", "tests.voice.restarts.app_side", "inspect", call.id))


def media_stream(servers: Servers, twilio: LocalTwilioServer, call: PlacedCall) -> TwilioMediaStream:
    """The stream Twilio opens to the app once the person answers."""
    return TwilioMediaStream.for_call(
        url=f"{servers.app.ws_url}/api/voice/stream",
        auth_token=twilio.auth_token,
        call_sid=call.sid,
        call_id=call.id,
        persona_id=call.persona_id,
    )
