"""The live status of a call, pushed to its owner's browser (the dashboard's call page)."""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import AllowedHostsOriginValidator

from callmeback.errors import NotFound
from callmeback.websockets import SocketAndLayerLoop
from calls import selectors
from calls.services import changes

UNAUTHENTICATED = 4401
NOT_FOUND = 4404


class CallStatusConsumer(SocketAndLayerLoop, AsyncJsonWebsocketConsumer):
    """Joins the call's channel-layer group and forwards its `call.status` messages (sent by
    the services whenever the call changes), starting with the status as it is now, and the
    transcript lines the voice stream stores as the call goes (`call.transcript`), starting
    with the lines stored so far. A line stored just as the page joins may come twice; the
    page keeps one per index. The session cookie authenticates; someone else's call looks
    missing."""

    group = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        call_id = self.scope["url_route"]["kwargs"]["call_id"]
        try:
            call = await database_sync_to_async(selectors.call_get_owned)(user=user, call_id=call_id)
        except NotFound:
            await self.close(code=NOT_FOUND)
            return
        self.group = changes.call_group(call.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Joined first, then the current status and transcript: nothing can fall between.
        await database_sync_to_async(changes.call_notify)(call)
        for line in await database_sync_to_async(selectors.call_transcript_lines)(call=call):
            await self.send_json({"transcript": line})

    async def disconnect(self, code: int) -> None:
        group, self.group = self.group, ""
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    def layer_groups(self) -> list[str]:
        return [self.group] if self.group else []

    async def call_status(self, event: dict) -> None:
        await self.send_json({key: value for key, value in event.items() if key != "type"})

    async def call_transcript(self, event: dict) -> None:
        """A line of the conversation, as the voice stream stores it: shown live on the page."""
        line = {key: event[key] for key in selectors.TRANSCRIPT_LINE_FIELDS if key in event}
        await self.send_json({"transcript": line})


def status_socket():
    """The consumer as mounted: same-origin browsers only, the Django session as identity."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(CallStatusConsumer.as_asgi()))
