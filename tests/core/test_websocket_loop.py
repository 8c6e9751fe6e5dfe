"""The websocket loop (callmeback.websockets) ends cleanly when its channel is full, and a
live call's output stops at a socket the caller has hung up."""

import asyncio

import pytest
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from uvicorn.protocols.utils import ClientDisconnected

from callmeback.websockets import SocketAndLayerLoop
from voice.consumers import MediaStreamConsumer, StreamOutput

CAPACITY = 3


class SlowReaderConsumer(SocketAndLayerLoop, AsyncWebsocketConsumer):
    """Takes one `test.block` message and stays on it, so its channel fills up behind it."""

    blocked = None

    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data=self.channel_name)

    async def test_block(self, message: dict) -> None:
        SlowReaderConsumer.blocked.set()
        await asyncio.Event().wait()


@pytest.fixture
def small_channels(settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": CAPACITY}}
    }


def test_a_socket_whose_channel_is_full_still_ends_cleanly(small_channels):
    async def scenario():
        SlowReaderConsumer.blocked = asyncio.Event()
        communicator = WebsocketCommunicator(SlowReaderConsumer.as_asgi(), "/test")
        connected, _ = await communicator.connect()
        assert connected
        channel = await communicator.receive_from()
        layer = get_channel_layer()
        await layer.send(channel, {"type": "test.block"})
        await asyncio.wait_for(SlowReaderConsumer.blocked.wait(), timeout=5)
        for _ in range(CAPACITY):
            await layer.send(channel, {"type": "test.block"})
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "test.block"})

        await communicator.disconnect()  # re-raises whatever the application raised

    asyncio.run(scenario())


class RecordingSend:
    """The ASGI server's `send`: records messages, or refuses them as a closed socket does."""

    def __init__(self, refusal: Exception | None = None) -> None:
        self.refusal = refusal
        self.messages: list[dict] = []

    async def __call__(self, message: dict) -> None:
        if self.refusal is not None:
            raise self.refusal
        self.messages.append(message)


def _stream_output(send: RecordingSend) -> tuple[MediaStreamConsumer, StreamOutput]:
    consumer = MediaStreamConsumer()
    consumer.base_send = send
    consumer.stream_sid = "MZ0001"
    return consumer, StreamOutput(consumer)


def test_the_persona_speaks_on_an_open_socket():
    send = RecordingSend()
    _, output = _stream_output(send)

    asyncio.run(output.send_mark("opening"))

    assert [message["type"] for message in send.messages] == ["websocket.send"]
    assert '"opening"' in send.messages[0]["text"]


@pytest.mark.parametrize(
    "refusal",
    [ClientDisconnected(), RuntimeError("Unexpected ASGI message 'websocket.send', after sending 'websocket.close'")],
)
def test_what_the_persona_says_after_the_caller_hung_up_goes_nowhere(refusal):
    send = RecordingSend(refusal)
    consumer, output = _stream_output(send)

    async def scenario():
        await output.send_audio(b"\xff" * 160)  # refused by the server: the socket is gone
        send.refusal = None
        await output.send_mark("reply-1")
        await output.send_clear()

    asyncio.run(scenario())

    assert consumer.socket_open is False
    assert send.messages == []


def test_a_caller_who_hung_up_gets_nothing_more():
    send = RecordingSend()
    consumer, output = _stream_output(send)
    consumer.socket_open = False  # as websocket_disconnect leaves it

    asyncio.run(output.send_audio(b"\xff" * 160))

    assert send.messages == []
