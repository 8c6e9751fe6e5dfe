"""The OpenAI-compatible LLM adapter, through the real `openai` SDK, against a loopback SSE server."""

import asyncio
from contextlib import aclosing

import pytest

from tests.fakes.openai_sse import API_KEY, FakeOpenAi, Reply
from tests.voice.helpers import eventually
from voice.providers.base import ChatMessage, ProviderError, TextDelta, ToolCall, ToolSpec, Usage
from voice.providers.openai_llm import OpenAiLlm

MESSAGES = [ChatMessage("system", "You are Ada, a friendly neighbour."), ChatMessage("user", "Hi Ada!")]
PROMPT_TOKENS = 8  # the fake counts a token per word of the prompt
END_CALL = ToolSpec(
    name="end_call",
    description="Hang up after saying goodbye.",
    parameters={"type": "object", "properties": {"reason": {"type": "string"}}, "required": []},
)


def llm(fake: FakeOpenAi, *, api_key: str = API_KEY) -> OpenAiLlm:
    return OpenAiLlm(base_url=fake.base_url, api_key=api_key, max_retries=0)


async def reply_of(fake: FakeOpenAi, *, api_key: str = API_KEY) -> list:
    async with aclosing(llm(fake, api_key=api_key)) as model:
        return [item async for item in model.stream_reply(messages=MESSAGES, model="test-model", temperature=0.7)]


def test_text_streams_as_deltas_from_a_request_in_the_openai_format():
    with FakeOpenAi(replies=[Reply(deltas=["Hi", " there", ", neighbour."])]) as fake:
        items = asyncio.run(reply_of(fake))
    assert items[:-1] == [TextDelta("Hi"), TextDelta(" there"), TextDelta(", neighbour.")]
    request = fake.requests[0]
    assert request.authorization == f"Bearer {API_KEY}"
    assert request.body == {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "You are Ada, a friendly neighbour."},
            {"role": "user", "content": "Hi Ada!"},
        ],
        "temperature": 0.7,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert request.completed


def test_the_tokens_the_server_reports_in_its_usage_chunk_end_the_reply():
    with FakeOpenAi(replies=[Reply(deltas=["Hi", " there", ", neighbour."])]) as fake:
        items = asyncio.run(reply_of(fake))
    assert fake.requests[0].usage["prompt_tokens"] == PROMPT_TOKENS  # sent as a last chunk with no choices
    assert items[-1] == Usage(input_tokens=PROMPT_TOKENS, output_tokens=3)


def test_a_server_that_reports_no_usage_yields_none_rather_than_a_guess():
    with FakeOpenAi(replies=[Reply(deltas=["Hi", " there."])], reports_usage=False) as fake:
        items = asyncio.run(reply_of(fake))
    assert items == [TextDelta("Hi"), TextDelta(" there.")]


def test_a_tool_call_streamed_in_fragments_arrives_whole_after_the_text():
    async def scenario(fake):
        async with aclosing(llm(fake)) as model:
            return [item async for item in model.stream_reply(messages=MESSAGES, model="m", temperature=0.2,
                                                                tools=[END_CALL])]

    reply = Reply(deltas=["Goodbye!"], tool_calls=[("end_call", {"reason": "said goodbye"})])
    with FakeOpenAi(replies=[reply]) as fake:
        items = asyncio.run(scenario(fake))
    assert items == [
        TextDelta("Goodbye!"),
        ToolCall(name="end_call", arguments={"reason": "said goodbye"}),
        Usage(input_tokens=PROMPT_TOKENS, output_tokens=2),
    ]
    assert fake.requests[0].body["tools"] == [{
        "type": "function",
        "function": {"name": "end_call", "description": END_CALL.description, "parameters": END_CALL.parameters},
    }]


def test_cancelling_the_consumer_aborts_the_request_upstream():
    async def scenario(fake):
        async with aclosing(llm(fake)) as model:
            first = asyncio.Event()

            async def consume():
                async for _ in model.stream_reply(messages=MESSAGES, model="m", temperature=0.5):
                    first.set()

            task = asyncio.create_task(consume())
            await asyncio.wait_for(first.wait(), 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await eventually(lambda: fake.requests[0].aborted)

    with FakeOpenAi(replies=[Reply(deltas=["word "] * 50)], token_delay=0.2) as fake:
        asyncio.run(scenario(fake))
    assert not fake.requests[0].completed


def test_closing_the_reply_early_aborts_the_request_upstream():
    async def scenario(fake):
        async with aclosing(llm(fake)) as model:
            async with aclosing(model.stream_reply(messages=MESSAGES, model="m", temperature=0.5)) as reply:
                assert await anext(reply) == TextDelta("word ")
            await eventually(lambda: fake.requests[0].aborted)

    with FakeOpenAi(replies=[Reply(deltas=["word "] * 50)], token_delay=0.2) as fake:
        asyncio.run(scenario(fake))


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_an_http_error_is_a_provider_error(status):
    with FakeOpenAi(replies=[Reply(status=status)]) as fake, pytest.raises(ProviderError, match=str(status)):
        asyncio.run(reply_of(fake))


def test_a_wrong_key_is_a_provider_error():
    with FakeOpenAi() as fake, pytest.raises(ProviderError, match="401"):
        asyncio.run(reply_of(fake, api_key="wrong"))


def test_an_error_event_mid_stream_is_a_provider_error():
    reply = Reply(deltas=["a", "b", "c"], error_event_after=1)
    with FakeOpenAi(replies=[reply]) as fake, pytest.raises(ProviderError):
        asyncio.run(reply_of(fake))


def test_a_connection_dropped_mid_stream_is_a_provider_error():
    with FakeOpenAi(replies=[Reply(deltas=["a", "b", "c"], drop_after=2)]) as fake, pytest.raises(ProviderError):
        asyncio.run(reply_of(fake))


def test_a_server_that_is_down_is_a_provider_error():
    stopped = FakeOpenAi().start()
    stopped.stop()
    with pytest.raises(ProviderError):
        asyncio.run(reply_of(stopped))
