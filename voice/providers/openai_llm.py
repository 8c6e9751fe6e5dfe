"""Any OpenAI-compatible streaming chat completion (OpenAI, Groq, Cerebras, a local Ollama
or llama.cpp server) through the `openai` SDK, one client and connection pool per process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import openai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from .base import ChatMessage, LlmItem, ProviderError, TextDelta, ToolCall, ToolSpec, Usage

logger = logging.getLogger(__name__)


class OpenAiLlm:
    label = "openai-compatible"

    def __init__(
        self, *, base_url: str | None, api_key: str, timeout_seconds: float = 20.0, max_retries: int = 1
    ) -> None:
        # Local servers take no key, but the SDK insists on one.
        self._client = openai.AsyncOpenAI(
            base_url=base_url or None,
            api_key=api_key or "unused",
            timeout=timeout_seconds,
            max_retries=max_retries,
        )

    async def stream_reply(
        self,
        *,
        messages: Sequence[ChatMessage],
        model: str,
        temperature: float,
        tools: Sequence[ToolSpec] = (),
    ) -> AsyncIterator[LlmItem]:
        """Text as it streams, then any tool calls once their arguments are complete, then the
        request's token usage when the server reports it (a last chunk with no choices, sent
        when `stream_options.include_usage` is asked for, as OpenAI, Groq, Cerebras, Ollama
        and llama.cpp's server do).

        Leaving the loop early, cancelling the consuming task or `aclose()` closes the
        response, which drops the connection and so aborts the request upstream.
        """
        request: dict = {
            "model": model,
            "messages": [{"role": message.role, "content": message.content} for message in messages],
            "temperature": temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            request["tools"] = [_tool_schema(tool) for tool in tools]
        try:
            # `client.post` rather than `chat.completions.create`: the request is already in its
            # wire form, and create's recursive re-typing of every message was the largest
            # share of the CPU a live call spends per turn.
            stream = await self._client.post(
                "/chat/completions",
                body=request,
                cast_to=ChatCompletion,
                stream=True,
                stream_cls=openai.AsyncStream[ChatCompletionChunk],
            )
        except openai.OpenAIError as error:
            raise ProviderError(f"LLM request failed: {_describe(error)}") from error
        calls: dict[int, _PendingToolCall] = {}
        usage: Usage | None = None
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = _usage(chunk.usage) or usage
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    yield TextDelta(delta.content)
                for fragment in delta.tool_calls or ():
                    calls.setdefault(fragment.index, _PendingToolCall()).add(fragment)
        except (openai.OpenAIError, ValueError) as error:
            raise ProviderError(f"LLM stream failed: {_describe(error)}") from error
        finally:
            await stream.close()
        for index in sorted(calls):
            call = calls[index].finished()
            if call is not None:
                yield call
        if usage is not None:
            yield usage

    async def aclose(self) -> None:
        await self._client.close()


@dataclass
class _PendingToolCall:
    """A tool call whose name and JSON arguments arrive in fragments across chunks."""

    name: str = ""
    argument_parts: list[str] = field(default_factory=list)

    def add(self, fragment) -> None:
        function = fragment.function
        if function is None:
            return
        if function.name:
            self.name += function.name
        if function.arguments:
            self.argument_parts.append(function.arguments)

    def finished(self) -> ToolCall | None:
        if not self.name:
            return None
        text = "".join(self.argument_parts).strip() or "{}"
        try:
            arguments = json.loads(text)
        except ValueError:
            logger.warning("LLM sent unreadable arguments for tool %s; calling it without them", self.name)
            arguments = {}
        return ToolCall(name=self.name, arguments=arguments if isinstance(arguments, dict) else {})


def _tool_schema(tool: ToolSpec) -> dict:
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def _usage(reported: CompletionUsage) -> Usage | None:
    """The server's count, or None when it left a figure out (never a guessed 0)."""
    prompt, completion = reported.prompt_tokens, reported.completion_tokens
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(input_tokens=prompt, output_tokens=completion)


def _describe(error: openai.OpenAIError | ValueError) -> str:
    status = getattr(error, "status_code", None)
    return f"HTTP {status}" if status else type(error).__name__
