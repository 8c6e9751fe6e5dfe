"""Websocket routes; each app that serves a websocket adds its patterns here."""

websocket_urlpatterns: list = []
