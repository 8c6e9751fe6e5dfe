"""A loopback Twilio that serves one recording's media (`GET .../Recordings/{sid}.wav`) the
slow way a test needs: the headers (Content-Type, Content-Length) and a first chunk at once,
then nothing until the test calls `release()`, then the rest. What the app passed on before
`release()` cannot have waited for the whole file.

It checks the account's Basic auth and records how the request ended: `finished` (every byte
written) or `abandoned` (the app closed the connection first).
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import BasicAuth, hdrs, web

from .loopback import LoopbackServer

HOLD_SECONDS = 30  # the most the rest is held back when a test never releases it


class SlowRecordingServer(LoopbackServer):
    name = "slow-recordings"

    def __init__(self, *, account_sid: str, auth_token: str, first: bytes, rest: bytes, status: int = 200) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.first, self.rest, self.status = first, rest, status
        self.requested: list[str] = []
        self.finished = False
        self.abandoned = False
        self._released = threading.Event()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/2010-04-01/Accounts/{account}/Recordings/{name}", self._recording)]

    def release(self) -> None:
        """Lets the rest of the file go."""
        self._released.set()

    def stop(self) -> None:
        self.release()
        super().stop()

    async def _recording(self, request: web.Request) -> web.StreamResponse:
        self.requested.append(request.match_info["name"])
        auth = BasicAuth.decode(request.headers.get(hdrs.AUTHORIZATION, ""))
        if (request.match_info["account"], auth.login, auth.password) != (
            self.account_sid,
            self.account_sid,
            self.auth_token,
        ):
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if self.status != 200:
            return web.json_response({"code": 20404, "message": "Not found", "status": self.status}, status=self.status)
        response = web.StreamResponse(
            headers={hdrs.CONTENT_TYPE: "audio/x-wav", hdrs.CONTENT_LENGTH: str(len(self.first) + len(self.rest))}
        )
        try:
            await response.prepare(request)
            await response.write(self.first)
            await asyncio.to_thread(self._released.wait, HOLD_SECONDS)
            await response.write(self.rest)
            await response.write_eof()
            self.finished = True
            return response
        except (asyncio.CancelledError, ConnectionResetError):
            self.abandoned = True
            raise
