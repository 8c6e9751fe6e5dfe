"""Channels' consumer loop, reworked for sockets that live long or carry many messages."""

import asyncio
import logging

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

READER_STOP = "layer.reader.stop"  # sent by a consumer to itself when its socket ends
READER_STOP_SECONDS = 2.0
# A read of the layer that failed (Redis down or restarting) is tried again after a pause
# doubling from the first to the last of these.
READER_RETRY_SECONDS = (0.5, 5.0)
# How often a socket joins its groups again: a Redis restarted without its data has
# forgotten them, and nothing sent to them would reach the socket any more.
GROUP_REJOIN_SECONDS = 5.0


class SocketAndLayerLoop:
    """Mixed in before a Channels websocket consumer: reads the socket in a plain loop and the
    channel layer in a task of its own.

    A failed read (Redis restarting) is retried rather than ending the read for good, and
    the socket's groups (`layer_groups`) are joined again every few seconds, so a restarted
    Redis reaches the socket again.

    Channels waits on both together, with a new task and an `asyncio.wait` for every message:
    at 50 frames a second per live call, a large share of a frame's cost. And it ends by
    cancelling the layer read: redis-py 8.1 can swallow a cancellation that lands while
    channels_redis waits in BZPOPMIN, and the read then polls for ever (a leaked task and
    connection per socket, or a test's event loop that never closes). Here the read is ended
    by a message the consumer sends itself, and cancelled only if that does not arrive.
    """

    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        layer_reader = asyncio.create_task(self._read_channel_layer())
        group_keeper = asyncio.create_task(self._keep_groups())
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            group_keeper.cancel()
            await self._stop_reader(layer_reader)

    def layer_groups(self) -> list[str]:
        """The channel-layer groups the socket belongs to now; kept joined."""
        return []

    async def _keep_groups(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REJOIN_SECONDS)
            for group in self.layer_groups():
                try:
                    await self.channel_layer.group_add(group, self.channel_name)
                except Exception:
                    logger.warning("Could not join channel-layer group %s again", group, exc_info=True)

    async def _read_channel_layer(self) -> None:
        pause = READER_RETRY_SECONDS[0]
        while True:
            try:
                message = await self.channel_layer.receive(self.channel_name)
            except Exception:
                logger.warning("The channel layer could not be read; trying again in %g s", pause, exc_info=True)
                await asyncio.sleep(pause)
                pause = min(pause * 2, READER_RETRY_SECONDS[1])
                continue
            pause = READER_RETRY_SECONDS[0]
            if message.get("type") == READER_STOP:
                return
            try:
                await self.dispatch(message)
            except Exception:
                logger.exception("A channel-layer message to a websocket failed (%s)", message.get("type"))

    async def _stop_reader(self, reader: asyncio.Task) -> None:
        try:
            await self.channel_layer.send(self.channel_name, {"type": READER_STOP})
        except Exception:
            # The socket's channel is full (its groups' messages came faster than the reader
            # took them) or the layer is down: the read is cancelled instead.
            logger.info("Could not ask a websocket's channel-layer reader to stop; cancelling it")
        else:
            await asyncio.wait({reader}, timeout=READER_STOP_SECONDS)
        finally:
            if not reader.done():
                reader.cancel()
