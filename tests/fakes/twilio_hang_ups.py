"""Twilio's call resource, only as far as a hang-up needs it, answering as slowly as asked:
for `bench/voice.py --hang-ups`, where calls end while others are live and Twilio takes
seconds to answer each hang-up.

Every update or fetch of a call answers "completed" after `delay` seconds; `POST /delay`
with `{"seconds": n}` changes the delay from another process (the benchmark's).
"""

import asyncio

from aiohttp import web

from .loopback import LoopbackServer

CALL_PATH = "/2010-04-01/Accounts/{account}/Calls/{sid}.json"


class HangUpTwilio(LoopbackServer):
    name = "hang-up-twilio"

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.hang_ups = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post(CALL_PATH, self._call), web.get(CALL_PATH, self._call), web.post("/delay", self._set_delay)]

    async def _call(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            self.hang_ups += 1
        await asyncio.sleep(self.delay)
        sid, account = request.match_info["sid"], request.match_info["account"]
        return web.json_response({"sid": sid, "account_sid": account, "status": "completed", "duration": "1"})

    async def _set_delay(self, request: web.Request) -> web.Response:
        self.delay = float((await request.json())["seconds"])
        return web.json_response({"delay": self.delay, "hang_ups": self.hang_ups})
