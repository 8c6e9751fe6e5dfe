"""A loopback stand-in for ElevenLabs' voices API (`GET /v1/voices`), on a real socket.

Tests point `ELEVENLABS_API_URL` at it, so the real gateway, its HTTP client, headers
and error handling all run. It records every request and can be told to fail.
"""

import asyncio
from dataclasses import dataclass
from urllib.parse import parse_qs

from aiohttp import web

from .loopback import LoopbackServer

API_KEY = "test-elevenlabs-key"

DEFAULT_VOICES = [
    {
        "voice_id": "21m00Tcm4TlvDq8ikWAM",
        "name": "Rachel",
        "category": "premade",
        "labels": {"gender": "female", "accent": "american"},
    },
    {"voice_id": "cloned-voice-0001", "name": "My Cloned Voice", "category": "cloned", "labels": {}},
]


@dataclass
class RecordedRequest:
    path: str
    query: dict[str, list[str]]
    api_key: str | None


class FakeElevenLabs(LoopbackServer):
    """`mode`: "ok", "error" (HTTP 500), "garbage" (not JSON) or "hang" (no answer until stopped)."""

    name = "fake-elevenlabs"

    def __init__(self, *, voices: list[dict] | None = None, mode: str = "ok") -> None:
        super().__init__()
        self.voices = voices if voices is not None else [dict(voice) for voice in DEFAULT_VOICES]
        self.mode = mode
        self.requests: list[RecordedRequest] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/{path:.*}", self._get)]

    async def _get(self, request: web.Request) -> web.StreamResponse:
        api_key = request.headers.get("xi-api-key")
        self.requests.append(RecordedRequest(request.path, parse_qs(request.query_string), api_key))
        if request.path != "/v1/voices":
            return web.json_response({"detail": "Not found"}, status=404)
        if api_key != API_KEY:
            refusal = {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
            return web.json_response(refusal, status=401)
        if self.mode == "hang":
            await asyncio.Event().wait()  # until the client gives up or the server stops
        if self.mode == "error":
            return web.json_response({"detail": "Internal error"}, status=500)
        if self.mode == "garbage":
            return web.Response(body=b"<html>not json</html>", content_type="text/html")
        return web.json_response({"voices": self.voices})
