"""Small pieces every app's API views share."""

from rest_framework import serializers


class MessageOutput(serializers.Serializer):
    """The spec's `{"message": "..."}` answer, for the OpenAPI schema."""

    message = serializers.CharField()


def parse_input(serializer_class: type[serializers.Serializer], request, *, partial: bool = False) -> dict:
    """Validates the request body with an input serializer; errors become VALIDATION_ERROR."""
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
