"""Pre-synthesised clips a call plays without waiting for text-to-speech: the persona's
opening line (heard the instant the stream starts) and a short apology for when a
provider fails mid-call.

Each clip is synthesised once per speech engine, voice, voice settings and text and kept
in the Django cache as mu-law bytes, and in the process beside the engine that made it:
every call starts with two clips, and fetched from the cache each took a thread hop and a
Redis connection of the call's own (Django's cache objects are per async context), a large
share of a short call's CPU. Concurrent calls asking for the same clip share one synthesis.
A clip that cannot be made is `None`: the call then speaks the line live.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import weakref
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache

from voice.providers.base import ProviderError, TextToSpeech, VoiceSettings

logger = logging.getLogger(__name__)

FALLBACK_LINE = "Sorry, I'm having trouble hearing you right now. Let's talk again soon."

CLIPS_KEPT = 512  # per speech engine in a process: a few MB of mu-law at most

_in_flight: dict[str, asyncio.Task] = {}


class _Clips:
    """The clips one speech engine made or fetched in this process, least recently used out first."""

    def __init__(self) -> None:
        self._clips: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        entry = self._clips.get(key)
        if entry is None:
            return None
        expires_at, audio = entry
        if expires_at <= time.monotonic():  # never kept longer than the shared cache keeps it
            del self._clips[key]
            return None
        self._clips.move_to_end(key)
        return audio

    def put(self, key: str, audio: bytes) -> None:
        self._clips[key] = (time.monotonic() + settings.GREETING_CACHE_SECONDS, audio)
        self._clips.move_to_end(key)
        while len(self._clips) > CLIPS_KEPT:
            self._clips.popitem(last=False)


_kept: weakref.WeakKeyDictionary[TextToSpeech, _Clips] = weakref.WeakKeyDictionary()


async def opening_audio(tts: TextToSpeech, text: str, voice: VoiceSettings) -> bytes | None:
    """The persona's opening line as 8 kHz mu-law, from the cache or synthesised once."""
    return await cached_clip(tts, text, voice)


async def fallback_audio(tts: TextToSpeech, voice: VoiceSettings) -> bytes | None:
    """The apology played when a provider fails mid-call, in the persona's voice."""
    return await cached_clip(tts, FALLBACK_LINE, voice)


def clip_cache_key(tts: TextToSpeech, text: str, voice: VoiceSettings) -> str:
    engine = getattr(tts, "label", type(tts).__qualname__)
    identity = [engine, voice.voice_id, voice.stability, voice.similarity, voice.speed, text]
    return "voice:clip:" + hashlib.sha256(json.dumps(identity).encode()).hexdigest()


async def cached_clip(tts: TextToSpeech, text: str, voice: VoiceSettings) -> bytes | None:
    if not text.strip():
        return None
    key = clip_cache_key(tts, text, voice)
    kept = _kept.setdefault(tts, _Clips())
    audio = kept.get(key)
    if audio is not None:
        return audio
    audio = await cache.aget(key)
    if audio is not None:
        kept.put(key, audio)
        return audio
    task = _in_flight.get(key)
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        task = asyncio.ensure_future(_synthesize_and_store(tts, text, voice, key))
        _in_flight[key] = task
        task.add_done_callback(lambda _: _in_flight.pop(key, None))
    return await asyncio.shield(task)


async def _synthesize_and_store(tts: TextToSpeech, text: str, voice: VoiceSettings, key: str) -> bytes | None:
    try:
        audio = await tts.synthesize(text, voice)
    except ProviderError as error:
        logger.warning("Could not pre-synthesise a clip for voice %s: %s", voice.voice_id, error)
        return None
    if not audio:
        return None
    await cache.aset(key, audio, settings.GREETING_CACHE_SECONDS)
    _kept.setdefault(tts, _Clips()).put(key, audio)
    return audio
