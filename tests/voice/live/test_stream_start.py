"""A media stream's start: a signed socket that never sends `start` is closed after the
deadline, a start that fails on our side leaves no task and no group membership behind, and
a started stream joins its own group only (the call pages' traffic never reaches it)."""

from channels.layers import get_channel_layer

from calls.models import Call
from calls.services.changes import call_group, call_stream_group
from devtools.processes import free_port
from tests.voice.live.conftest import run
from voice.consumers import STREAM_START_FAILED, STREAM_START_TIMEOUT


def _close_code_of(stream, *, start: bool) -> int | None:
    """Opens the stream (with or without `start`) and waits for the server to close it."""

    async def scenario():
        await stream.open(start=start)
        await stream.wait_until(lambda: stream.closed, timeout=15)
        await stream.close()
        return stream.close_code

    return run(scenario())


async def _count_members(group: str) -> int:
    """How many channels the channel layer (Redis) holds in the group."""
    layer = get_channel_layer()
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcard(layer._group_key(group))


def _members_of(group: str) -> int:
    return run(_count_members(group))


def test_a_signed_stream_that_never_sends_start_is_closed_after_the_deadline(live_call, open_stream, settings):
    settings.STREAM_START_TIMEOUT_SECONDS = 0.2

    assert _close_code_of(open_stream(live_call), start=False) == STREAM_START_TIMEOUT

    call = Call.objects.get(pk=live_call.pk)
    assert call.status == Call.Status.IN_PROGRESS
    assert call.live_stream_sid == ""


def test_a_stream_that_sends_start_in_time_is_not_closed_by_the_deadline(live_call, open_stream, settings):
    settings.STREAM_START_TIMEOUT_SECONDS = 0.2
    stream = open_stream(live_call)

    async def scenario() -> bool:
        await stream.open()
        heard = await stream.listen(timeout=15, quiet=0.5)  # the opening line, well past the deadline
        still_open = not stream.closed
        await stream.stop()
        await stream.close()
        return heard and still_open

    assert run(scenario())


def test_a_stream_whose_start_fails_leaves_its_group_and_no_task_running(
    live_call, open_stream, settings, asgi_server
):
    # The greeting cache (Redis) is unreachable: the opening line cannot be looked up once the
    # stream has joined the call's group and started its transcript writer.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }

    assert _close_code_of(open_stream(live_call), start=True) == STREAM_START_FAILED

    assert _members_of(call_stream_group(str(live_call.pk))) == 0
    assert _members_of(call_group(str(live_call.pk))) == 0
    assert not [name for name in asgi_server.task_names() if name.startswith("TranscriptWriter.")]
    call = Call.objects.get(pk=live_call.pk)
    assert call.status == Call.Status.IN_PROGRESS
    assert call.live_stream_sid == ""


def test_a_started_stream_hears_only_its_own_group_not_the_call_pages(live_call, open_stream):
    stream = open_stream(live_call)

    async def scenario() -> tuple[bool, int, int]:
        await stream.open()
        heard = await stream.listen(timeout=15, quiet=0.5)
        in_stream_group = await _count_members(call_stream_group(str(live_call.pk)))
        in_page_group = await _count_members(call_group(str(live_call.pk)))  # status, transcript lines
        await stream.stop()
        await stream.close()
        return heard, in_stream_group, in_page_group

    assert run(scenario()) == (True, 1, 0)
