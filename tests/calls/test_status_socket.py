"""`/ws/calls/<id>/status`: a call's status pushed to its owner's browser through the channel
layer, authenticated by the Django session; nobody else's."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from callmeback.routing import websocket_urlpatterns
from calls.consumers import NOT_FOUND, UNAUTHENTICATED
from calls.models import Call, CallTurn
from calls.services import changes
from tests.calls.conftest import PHONE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _channel_layer_of_this_test():
    """Each test drives the consumer on an event loop of its own: a channel layer whose Redis
    connections were opened on another test's loop must not be reused here."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(call_id, *, cookie: bytes = b"", origin: bytes = b"http://localhost") -> WebsocketCommunicator:
    headers = [(b"host", b"localhost"), (b"origin", origin)] + ([(b"cookie", cookie)] if cookie else [])
    return WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/calls/{call_id}/status", headers=headers)


def connect_once(socket: WebsocketCommunicator) -> tuple[bool, int | None]:
    """Connects, then hangs up, so the consumer has ended before the test's event loop closes
    (closing it cancels whatever still runs, a pending channel-layer read included)."""

    async def scenario():
        outcome = await socket.connect()
        await socket.disconnect()
        return outcome

    return async_to_sync(scenario)()


@pytest.fixture
def call(persona) -> Call:
    owner = UserFactory()
    return Call.objects.create(user=owner, persona=persona, persona_name=persona.name, phone_number=PHONE)


def test_the_owner_gets_the_current_status_then_each_change(call):
    socket = communicator(call.pk, cookie=session_cookie(call.user))

    async def scenario():
        connected, _ = await socket.connect()
        first = await socket.receive_json_from(timeout=5)
        call.status, call.twilio_status = Call.Status.IN_PROGRESS, "in-progress"
        await database_sync_to_async(call.save)()
        await database_sync_to_async(changes.call_notify)(call)
        second = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return connected, first, second

    connected, first, second = async_to_sync(scenario)()

    assert connected
    assert (first["call_id"], first["status"]) == (str(call.pk), "initiated")
    assert (second["status"], second["twilio_status"]) == ("in-progress", "in-progress")
    assert "type" not in second


def test_someone_elses_call_looks_missing(call):
    socket = communicator(call.pk, cookie=session_cookie(UserFactory()))

    connected, code = connect_once(socket)

    assert (connected, code) == (False, NOT_FOUND)


def test_without_a_session_the_socket_is_refused(call):
    socket = communicator(call.pk)

    connected, code = connect_once(socket)

    assert (connected, code) == (False, UNAUTHENTICATED)


def test_a_page_from_another_site_cannot_open_the_socket(call):
    socket = communicator(call.pk, cookie=session_cookie(call.user), origin=b"https://evil.example")

    connected, _ = connect_once(socket)

    assert connected is False


def test_the_owner_sees_each_transcript_line_the_voice_stream_stores(call):
    socket = communicator(call.pk, cookie=session_cookie(call.user))
    line = {"type": "call.transcript", "index": 0, "speaker": "persona", "text": "Hi there!", "interrupted": False}

    async def scenario():
        await socket.connect()
        await socket.receive_json_from(timeout=5)  # the current status
        await get_channel_layer().group_send(changes.call_group(call.pk), line)
        pushed = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return pushed

    pushed = async_to_sync(scenario)()

    assert pushed == {"transcript": {"index": 0, "speaker": "persona", "text": "Hi there!", "interrupted": False}}


def test_a_page_joining_mid_call_first_gets_the_lines_stored_so_far_in_order(call):
    CallTurn.objects.create(call=call, index=1, speaker="person", text="Fine, thanks.")
    CallTurn.objects.create(call=call, index=0, speaker="persona", text="Hi there!", interrupted=True)
    socket = communicator(call.pk, cookie=session_cookie(call.user))

    async def scenario():
        await socket.connect()
        received = [await socket.receive_json_from(timeout=5) for _ in range(3)]
        await socket.disconnect()
        return received

    received = async_to_sync(scenario)()

    assert [message["transcript"] for message in received if "transcript" in message] == [
        {"index": 0, "speaker": "persona", "text": "Hi there!", "interrupted": True},
        {"index": 1, "speaker": "person", "text": "Fine, thanks.", "interrupted": False},
    ]
    assert [message["status"] for message in received if "status" in message] == ["initiated"]
