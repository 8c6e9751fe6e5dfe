"""A live call survives its servers restarting: PostgreSQL stopped and started again in the
middle of the conversation (the call goes on, its transcript catches up, it completes and is
captured once), and Redis restarted with its data gone (the call goes on, and a hang-up
from the app still reaches it and ends it). Real servers, really restarted: private ones
the test starts (tests/voice/restarts/servers.py), never the machine's shared ones."""

import asyncio
import time

import pytest
import redis
import requests

from billing import pricing
from calls.services.changes import call_stream_group
from tests.fakes.openai_sse import Reply
from tests.fakes.twilio_media import speech
from tests.voice.restarts.conftest import PlacedCall, Servers, inspect, media_stream

pytestmark = pytest.mark.restarts

SAID = "I am doing well thanks, what about you?"
CHANNEL_LAYER_PREFIX = "asgi"  # channels_redis's default key prefix


def wait_for(condition, *, timeout: float = 60.0, what: str):
    """Bounded poll for something the app's processes do."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return result


async def hear_the_opening(stream) -> bool:
    await stream.open()
    stream.start_line()
    return await stream.listen(timeout=30, quiet=0.5)


async def say_and_hear_the_reply(stream, words: str) -> bool:
    stream.say(speech(words))
    return await stream.listen(timeout=30, quiet=0.5)


def finish_at_twilio(twilio, call: PlacedCall):
    """Twilio reports the end (the signed `completed` callback) with the real duration."""
    return twilio.advance(call.sid, "completed", duration=twilio.calls[call.sid].duration)


def test_a_call_goes_on_while_postgresql_restarts_then_completes_and_is_captured_once(
    servers: Servers, live_call: PlacedCall, twilio, deepgram, llm
):
    deepgram.utterances = [SAID]
    llm.default_reply = Reply(deltas=["So", " glad", " to", " hear", " it."])
    stream = media_stream(servers, twilio, live_call)

    async def scenario():
        opening_heard = await hear_the_opening(stream)
        await asyncio.to_thread(servers.postgres.stop)
        reply_heard = await say_and_hear_the_reply(stream, SAID)  # no database meanwhile
        await asyncio.to_thread(servers.postgres.start)
        await stream.stop()  # the person hangs up
        return opening_heard, reply_heard

    opening_heard, reply_heard = run(scenario())
    assert opening_heard and reply_heard
    stored = wait_for(
        lambda: (state := inspect(servers, live_call))["turns"] == ["persona", "person", "persona"]
        and not state["live_stream_sid"],
        what="the transcript written once the database was back, and the stream's end",
    )
    assert stored

    completed = finish_at_twilio(twilio, live_call)
    call = wait_for(
        lambda: (state := inspect(servers, live_call))["settlements"] and state, what="the capture by the worker"
    )
    completed.post_blocking()  # Twilio sends the callback again (answered before this returns)
    again = inspect(servers, live_call)

    assert call["status"] == "completed"
    assert call["amount_captured"] == pricing.call_cost_cents(call["duration"]) > 0
    assert call["settlements"] == again["settlements"] == ["capture"]
    assert again["amount_captured"] == call["amount_captured"]


def test_a_call_goes_on_while_redis_restarts_and_a_hang_up_still_reaches_it(
    servers: Servers, live_call: PlacedCall, twilio, deepgram, llm
):
    deepgram.utterances = [SAID]
    llm.default_reply = Reply(deltas=["So", " glad", " to", " hear", " it."])
    stream = media_stream(servers, twilio, live_call)
    layer = redis.Redis.from_url(servers.redis.url)
    group_key = f"{CHANNEL_LAYER_PREFIX}:group:{call_stream_group(live_call.id)}"

    async def scenario():
        opening_heard = await hear_the_opening(stream)
        await asyncio.to_thread(servers.redis.stop)
        await asyncio.to_thread(servers.redis.start)  # with nothing of what it held
        reply_heard = await say_and_hear_the_reply(stream, SAID)
        # The stream joins its group again by itself; the app's hang-up goes to that group.
        await asyncio.to_thread(wait_for, lambda: layer.zcard(group_key), what="the stream back in its group")
        asked = time.monotonic()
        ended = await asyncio.to_thread(
            requests.post,
            f"{servers.app.url}/api/calls/{live_call.id}/end",
            headers={"Authorization": f"Bearer {live_call.token}"},
            timeout=30,
        )
        goodbye_heard = await stream.listen(timeout=30, quiet=0.3, since=asked)
        hung_up = await stream.wait_until(lambda: twilio.calls[live_call.sid].status == "completed", timeout=60)
        await stream.stop()
        return opening_heard, reply_heard, ended, goodbye_heard, hung_up

    opening_heard, reply_heard, ended, goodbye_heard, hung_up = run(scenario())

    assert opening_heard and reply_heard
    assert ended.status_code == 200 and ended.json()["call"]["ended_by"] == "user"
    assert goodbye_heard and hung_up
    finish_at_twilio(twilio, live_call)
    call = wait_for(
        lambda: (state := inspect(servers, live_call))["settlements"] and state, what="the capture by the worker"
    )
    assert (call["status"], call["ended_by"], call["settlements"]) == ("completed", "user", ["capture"])


def run(scenario):
    return asyncio.run(scenario)
