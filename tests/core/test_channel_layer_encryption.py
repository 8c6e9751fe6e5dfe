"""The Redis channel layer encrypts its messages (they carry transcript lines) with the
transcripts' key material, and two layer instances (two processes) still talk."""

import asyncio
import uuid

import pytest
import redis
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.conf import settings

from callmeback.keyring import key_material

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis channel layer needs REDIS_URL (CI sets it)")

LINE = {"type": "call.transcript", "index": 0, "speaker": "person", "text": "my secret plans", "interrupted": False}


def test_the_layer_is_keyed_with_the_transcript_keys_newest_first():
    config = settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER]["CONFIG"]

    assert config["symmetric_encryption_keys"] == key_material(
        explicit=settings.TRANSCRIPT_ENCRYPTION_KEYS, secret_key=settings.SECRET_KEY
    )


def test_a_group_message_is_ciphertext_in_redis_and_another_layer_instance_reads_it():
    channel = f"test-encryption-{uuid.uuid4().hex}"
    group = f"group-{uuid.uuid4().hex}"

    async def exchange() -> tuple[list[bytes], dict]:
        sender = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        receiver = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        try:
            await receiver.group_add(group, channel)
            await sender.group_send(group, LINE)
            stored = redis.Redis.from_url(settings.REDIS_URL).zrange(sender.prefix + channel, 0, -1)
            return stored, await receiver.receive(channel)
        finally:
            await receiver.group_discard(group, channel)
            await sender.close_pools()
            await receiver.close_pools()

    stored, received = asyncio.run(exchange())

    assert len(stored) == 1
    assert b"secret" not in stored[0]
    assert b"call.transcript" not in stored[0]
    assert received == LINE
