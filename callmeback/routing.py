"""Websocket routes; each app that serves a websocket adds its patterns here."""

from django.urls import path

from voice.consumers import MediaStreamConsumer

websocket_urlpatterns: list = [
    path("api/voice/stream", MediaStreamConsumer.as_asgi()),
]
