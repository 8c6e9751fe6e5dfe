"""Websocket routes; each app that serves a websocket adds its patterns here."""

from django.urls import path

from calls.consumers import status_socket
from voice.consumers import MediaStreamConsumer

websocket_urlpatterns: list = [
    path("ws/calls/<uuid:call_id>/status", status_socket()),
    path("api/voice/stream", MediaStreamConsumer.as_asgi()),
]
