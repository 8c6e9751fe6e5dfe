"""A loopback OpenAI-compatible chat-completions server streaming Server-Sent Events.

`POST /v1/chat/completions` with `stream: true` answers with `chat.completion.chunk`
events and `data: [DONE]`, as OpenAI, Groq, Cerebras and Ollama do. Replies are scripted
(`replies`, consumed one per request, then `default_reply`); each can stream text, stream a
tool call with its arguments split into fragments, fail with an HTTP status, send an error
event or drop the connection mid-stream. With `stream_options.include_usage` it ends, as
OpenAI does, with a chunk of empty `choices` and a `usage` object (`reports_usage=False`
plays a server that never sends one). Every request is recorded, including whether the
client hung up before the end (`aborted`) and the usage reported.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from .loopback import LoopbackServer

API_KEY = "test-llm-key"


@dataclass
class Reply:
    deltas: list[str] = field(default_factory=lambda: ["Hello", " there", "!"])
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)
    status: int | None = None  # answer with this HTTP error instead of a stream
    error_event_after: int | None = None  # send an in-stream error after this many deltas
    drop_after: int | None = None  # cut the connection after this many deltas


@dataclass
class RecordedRequest:
    body: dict
    authorization: str | None
    aborted: bool = False
    completed: bool = False
    usage: dict | None = None  # the usage object sent, if any


class FakeOpenAi(LoopbackServer):
    name = "fake-openai"

    def __init__(
        self,
        *,
        replies: list[Reply] | None = None,
        default_reply: Reply | None = None,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
        reports_usage: bool = True,
    ) -> None:
        super().__init__()
        self.replies = list(replies or [])
        self.default_reply = default_reply or Reply()
        self.first_token_delay = first_token_delay
        self.token_delay = token_delay
        self.reports_usage = reports_usage
        self.requests: list[RecordedRequest] = []

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self):
        return [web.post("/v1/chat/completions", self._completions)]

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        recorded = RecordedRequest(body=body, authorization=request.headers.get("Authorization"))
        self.requests.append(recorded)
        if recorded.authorization != f"Bearer {API_KEY}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        reply = self.replies.pop(0) if self.replies else self.default_reply
        if reply.status:
            return _error(reply.status, "Injected failure", "server_error")
        if not body.get("stream"):
            return _error(400, "This fake only streams.", "invalid_request_error")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        try:
            await self._stream(request, response, recorded, reply)
            recorded.completed = True
        except (asyncio.CancelledError, ConnectionResetError):
            recorded.aborted = True
            raise
        return response

    async def _stream(
        self, request: web.Request, response: web.StreamResponse, recorded: RecordedRequest, reply: Reply
    ) -> None:
        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        include_usage = self.reports_usage and bool((recorded.body.get("stream_options") or {}).get("include_usage"))

        async def send(choices: list[dict], **extra) -> None:
            chunk = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": recorded.body["model"],
                "choices": choices,
                **({"usage": None} if include_usage else {}),
                **extra,
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        async def event(delta: dict, finish_reason: str | None = None) -> None:
            await send([{"index": 0, "delta": delta, "finish_reason": finish_reason}])

        await asyncio.sleep(self.first_token_delay)
        await event({"role": "assistant", "content": ""})
        for sent, text in enumerate(reply.deltas):
            if sent:
                await asyncio.sleep(self.token_delay)
            if reply.drop_after == sent:
                request.transport.close()  # hang up mid-stream, as a crashed upstream would
                return
            if reply.error_event_after == sent:
                error = {"error": {"message": "Injected stream failure", "type": "server_error"}}
                await response.write(f"data: {json.dumps(error)}\n\n".encode())
                return
            await event({"content": text})
        for index, (name, arguments) in enumerate(reply.tool_calls):
            encoded = json.dumps(arguments)
            middle = len(encoded) // 2
            await event({"tool_calls": [{"index": index, "id": f"call_{index}", "type": "function",
                                         "function": {"name": name, "arguments": ""}}]})
            for part in (encoded[:middle], encoded[middle:]):
                await event({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
        await event({}, "tool_calls" if reply.tool_calls else "stop")
        if include_usage:
            recorded.usage = _usage(recorded.body, reply)
            await send([], usage=recorded.usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()


def _usage(body: dict, reply: Reply) -> dict:
    """Token counts a test can predict: a token per word of the prompt, per delta and per tool call."""
    prompt = sum(len(str(message.get("content") or "").split()) for message in body["messages"])
    completion = len(reply.deltas) + len(reply.tool_calls)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _error(status: int, message: str, code: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": code, "code": code}}, status=status)
