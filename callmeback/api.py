"""Small pieces every app's API views share."""

import inspect
from collections.abc import Mapping
from typing import Any

from asgiref.sync import sync_to_async
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


class MessageOutput(serializers.Serializer):
    """The spec's `{"message": "..."}` answer, for the OpenAPI schema."""

    message = serializers.CharField()


class PublicApiView(APIView):
    """An endpoint anyone may call (sign-up, log-in, signed links, webhooks): no credentials
    are read, so a stale bearer token cannot turn it into a 401."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class AsyncApiView(APIView):
    """An API view whose handlers are coroutines (`async def get`): for an answer that waits on
    the network, such as a body streamed from a provider, without holding a thread for it.
    DRF's own steps run as in `APIView.dispatch`; its checks (throttles count in the cache)
    run in a thread, and errors still leave in the envelope through the exception handler."""

    async def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            await sync_to_async(self.initial)(request, *args, **kwargs)
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            response = (handler or self.http_method_not_allowed)(request, *args, **kwargs)
            if inspect.isawaitable(response):
                response = await response
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


class AsyncPublicApiView(AsyncApiView, PublicApiView):
    """`PublicApiView` with coroutine handlers."""


NOT_TEXT = "Must be a string."


def _text_type_errors(fields: Mapping[str, serializers.Field], data: Any) -> dict[str, Any]:
    """Text fields take JSON strings only: DRF's CharField would turn `12345` into "12345"."""
    if not isinstance(data, Mapping):
        return {}
    errors: dict[str, Any] = {}
    for name, field in fields.items():
        value = data.get(name)
        if value is None or field.read_only:
            continue
        if isinstance(field, serializers.CharField) and not isinstance(value, str):
            errors[name] = [NOT_TEXT]
        elif isinstance(field, serializers.ListField) and isinstance(field.child, serializers.CharField):
            items = {
                index: [NOT_TEXT]
                for index, item in enumerate(value if isinstance(value, list) else [])
                if item is not None and not isinstance(item, str)
            }
            if items:
                errors[name] = items
    return errors


def parse_input(serializer_class: type[serializers.Serializer], request, *, partial: bool = False) -> dict:
    """Validates the request body with an input serializer; errors become VALIDATION_ERROR,
    every bad field reported at once."""
    serializer = serializer_class(data=request.data, partial=partial)
    valid = serializer.is_valid()
    errors = {**({} if valid else serializer.errors), **_text_type_errors(serializer.fields, request.data)}
    if errors:
        raise serializers.ValidationError(errors)
    return serializer.validated_data
