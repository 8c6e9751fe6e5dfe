"""A loopback stand-in for ElevenLabs' voices API (`GET /v1/voices`), on a real socket.

Tests point `ELEVENLABS_API_URL` at it, so the real gateway, its HTTP client, headers
and error handling all run. It records every request and can be told to fail.
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

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


@dataclass
class FakeElevenLabs:
    """`mode`: "ok", "error" (HTTP 500), "garbage" (not JSON) or "hang" (no answer until stopped)."""

    voices: list[dict] = field(default_factory=lambda: [dict(voice) for voice in DEFAULT_VOICES])
    mode: str = "ok"
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeElevenLabs":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                fake.requests.append(RecordedRequest(parts.path, parse_qs(parts.query), self.headers.get("xi-api-key")))
                if parts.path != "/v1/voices":
                    return self._send(404, {"detail": "Not found"})
                if self.headers.get("xi-api-key") != API_KEY:
                    return self._send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
                if fake.mode == "hang":
                    fake._release.wait()
                    return None
                if fake.mode == "error":
                    return self._send(500, {"detail": "Internal error"})
                if fake.mode == "garbage":
                    return self._send_raw(200, b"<html>not json</html>", "text/html")
                return self._send(200, {"voices": fake.voices})

            def _send(self, status: int, body: dict) -> None:
                self._send_raw(status, json.dumps(body).encode(), "application/json")

            def _send_raw(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args) -> None:  # keep test output quiet
                pass

        return Handler
