"""Calls tests run the real `twilio` SDK over HTTP against the local Twilio (through
`TWILIO_API_BASE`) and the real `stripe` SDK against localstripe. Twilio's signed callbacks
are delivered to the app through Django's test client, signed for `SITE_URL`."""

from urllib.parse import urlencode

import pytest
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.test import Client, TestCase

from accounts.models import VerifiedPhoneNumber
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from calls.models import Call
from calls.services import placing
from tests.billing.conftest import (  # noqa: F401  (fixtures shared with the billing tests)
    _stripe_settings,
    card_user,
    front,
    localstripe,
    make_card,
    stripe_client,
    stripe_front,
)
from tests.conftest import client_for
from tests.fakes.twilio import LocalTwilioServer
from tests.personas.factories import PersonaFactory, ScenarioTemplateFactory

SITE_URL = "https://app.example"
PHONE = "+14155550123"


class Deliveries:
    """Sends Twilio's callbacks to the app in-process and keeps the answers."""

    def __init__(self) -> None:
        self.responses = []

    def __call__(self, callback):
        # Each request commits on its own in production; here its after-commit work runs too.
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = Client().post(
                callback.path,
                data=urlencode(callback.params),
                content_type="application/x-www-form-urlencoded",
                headers=callback.headers,
            )
        self.responses.append(response)
        return response


@pytest.fixture(scope="session")
def local_twilio() -> LocalTwilioServer:
    return LocalTwilioServer.shared()


@pytest.fixture(autouse=True)
def twilio(settings, local_twilio) -> LocalTwilioServer:
    """The app talks to this suite's local Twilio; callbacks come back through the test client."""
    local_twilio.reset()
    local_twilio.deliver = Deliveries()
    local_twilio.configure(settings)
    settings.SITE_URL = SITE_URL
    settings.CALL_ALLOWED_COUNTRIES = ["US", "CA", "GB"]
    return local_twilio


@pytest.fixture
def channel_layer():
    """A channel layer instance of the test's own, installed as the app's for the test.

    Receiving binds a Redis layer's locks to the event loop of the receiver; a fresh
    instance keeps that from the one an ASGI server in a later test receives on."""
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    previous = channel_layers.set(DEFAULT_CHANNEL_LAYER, layer)
    yield layer
    if previous is None:
        channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    else:
        channel_layers.set(DEFAULT_CHANNEL_LAYER, previous)


@pytest.fixture
def caller(card_user):  # noqa: F811
    """A person with a card on file and a verified number, ready to be called."""
    card_user.phone = PHONE
    card_user.phone_verified = True
    card_user.save(update_fields=["phone", "phone_verified"])
    VerifiedPhoneNumber.objects.create(user=card_user, phone_number=PHONE)
    return card_user


@pytest.fixture
def caller_client(caller):
    return client_for(caller)


@pytest.fixture
def persona(db):
    return PersonaFactory(is_public=True, name="Best Friend", greeting="Hey you, it's me!")


@pytest.fixture
def scenario(db):
    return ScenarioTemplateFactory(is_public=True)


@pytest.fixture
def hold(caller) -> PaymentAuthorization:
    """A $2.25 hold: a 5-minute call."""
    return billing_holds.authorization_create(user=caller, estimated_duration=5).authorization


@pytest.fixture
def place(caller, persona):
    """Places a call for `caller` through the services, with a fresh 5-minute hold."""

    def make(**overrides) -> Call:
        authorization = billing_holds.authorization_create(user=caller, estimated_duration=5).authorization
        arguments = {
            "user": caller,
            "phone_number": PHONE,
            "persona_id": persona.pk,
            "payment_intent_id": authorization.payment_intent_id,
        } | overrides
        with TestCase.captureOnCommitCallbacks(execute=True):
            return placing.call_place(**arguments)

    return make


@pytest.fixture
def ended_recorded_call(caller, place, twilio) -> Call:
    """A 42-second call by a caller who records calls, ended; Twilio has yet to report its recording."""
    caller.record_calls = True
    caller.save(update_fields=["record_calls"])
    call = place()
    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=42)
    return call


def call_body(persona, hold, **overrides) -> dict:
    return {
        "phone_number": PHONE,
        "persona_id": str(persona.pk),
        "payment_intent_id": hold.payment_intent_id,
    } | overrides
