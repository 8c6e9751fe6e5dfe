"""The local Twilio as one server: the account, the switchboard playing its calls, and the
routes of the REST API, the phone page and the media bridge, composed into one aiohttp app.
`manage.py run_localtwilio` serves it; the test suite runs it in a thread
(tests/fakes/twilio.py)."""

import asyncio

from aiohttp import web

from devtools.localtwilio import phone, rest
from devtools.localtwilio.account import ACCOUNT, TwilioAccount
from devtools.localtwilio.lifecycle import SWITCHBOARD, Switchboard


class LocalTwilio(TwilioAccount):
    """The account with its switchboard (see TwilioAccount for the options)."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.switchboard = Switchboard(self)

    def reset(self) -> None:
        """Forgets every record, request and scripted failure and drops the calls in play;
        keeps the caller ID number."""
        self.forget_records()
        self.switchboard.drop_calls()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[rest.rest_middleware])
        app[ACCOUNT] = self
        app[SWITCHBOARD] = self.switchboard
        rest.add_routes(app)
        phone.add_routes(app)
        self.media_bridge.add_routes(app)
        app.on_cleanup.append(self.close_session)
        if self.journal is not None:
            app.cleanup_ctx.append(self._journal_heartbeat)
        return app

    async def _journal_heartbeat(self, app: web.Application):
        """Keeps the calls file fresh while calls are in play (see journal.CallJournal)."""
        task = asyncio.create_task(self.journal.heartbeat())
        yield
        task.cancel()

