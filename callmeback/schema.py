"""The error responses of the OpenAPI schema (`/api/schema`).

Every operation lists, under each status it can answer with, the error envelope and the
codes it may carry there (`error` is an enum of them), so a client, and a schema-driven
test, knows every answer in advance. Some errors follow from the view itself:

- 400 VALIDATION_ERROR: the operation takes a body (then also 413 and 415) or query parameters;
- 401 UNAUTHORIZED, INVALID_TOKEN, TOKEN_REVOKED: it reads bearer tokens (UNAUTHORIZED
  only where a token is required);
- 404 NOT_FOUND: its path has parameters;
- 429 RATE_LIMIT_EXCEEDED (with `retry_after`): it declares a rate limit for the method.

Only RATE_LIMIT_EXCEEDED always carries `retry_after`; where other codes share the 429
(CONCURRENT_CALLS, MAX_CONTACTS...), the schema requires it with that code alone.

A view declares the rest per method, as the errors its services raise: an
`ApplicationError` subclass stands for its `code` and `status_code` (a class whose
instances carry other codes lists them all in `codes`), an `ErrorCode` for one made
inline:

    class PersonaDetailApi(APIView):
        error_codes = {"PUT": [Forbidden, DuplicateName, VoiceApiError], "DELETE": [Forbidden]}

`ErrorDocumentingAutoSchema` is DRF's DEFAULT_SCHEMA_CLASS; a new endpoint needs only the
declaration. `tests/core/test_openapi_conformance.py` runs schemathesis over the schema
and fails on any status or error code an operation does not document.
"""

from collections import defaultdict
from typing import Any, NamedTuple

from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions, serializers

from callmeback.errors import ApplicationError


class ErrorCode(NamedTuple):
    status: int
    code: str


ErrorEntry = type[ApplicationError] | ErrorCode


class ErrorEnvelope(serializers.Serializer):
    """Every API error: `{"error", "message", "details"}`, with `retry_after` on 429."""

    error = serializers.CharField(help_text="A stable code, e.g. VALIDATION_ERROR.")
    message = serializers.CharField(help_text="A sentence for people.")
    retry_after = serializers.IntegerField(required=False, help_text="Seconds to wait (429 only).")
    details = serializers.DictField(help_text="Field name → messages for VALIDATION_ERROR; else mostly empty.")


VALIDATION_ERROR = ErrorCode(400, "VALIDATION_ERROR")
BODY_ERRORS = (ErrorCode(413, "PAYLOAD_TOO_LARGE"), ErrorCode(415, "UNSUPPORTED_MEDIA_TYPE"))
TOKEN_ERRORS = (ErrorCode(401, "INVALID_TOKEN"), ErrorCode(401, "TOKEN_REVOKED"))
UNAUTHORIZED = ErrorCode(401, "UNAUTHORIZED")
NOT_FOUND = ErrorCode(404, "NOT_FOUND")
RATE_LIMITED = ErrorCode(429, "RATE_LIMIT_EXCEEDED")


def _expand(entry: ErrorEntry) -> list[ErrorCode]:
    if isinstance(entry, ErrorCode):
        return [entry]
    return [ErrorCode(entry.status_code, code) for code in getattr(entry, "codes", (entry.code,))]


class ErrorDocumentingAutoSchema(AutoSchema):
    def get_operation(self, *args, **kwargs) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        by_status: dict[int, list[str]] = defaultdict(list)
        for status, code in self._error_codes(operation):
            if code not in by_status[status]:
                by_status[status].append(code)
        envelope = self.resolve_serializer(ErrorEnvelope, "response").ref
        for status in sorted(by_status):
            operation["responses"].setdefault(str(status), _error_response(envelope, status, by_status[status]))
        return operation

    def _error_codes(self, operation: dict[str, Any]) -> list[ErrorCode]:
        parameters = operation.get("parameters", [])
        codes: list[ErrorCode] = []
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            codes.append(VALIDATION_ERROR)
        if "requestBody" in operation:
            codes.extend(BODY_ERRORS)
        if self.view.get_authenticators():
            if self._login_required():
                codes.append(UNAUTHORIZED)
            codes.extend(TOKEN_ERRORS)
        if any(p["in"] == "path" for p in parameters):
            codes.append(NOT_FOUND)
        if self.method in getattr(self.view, "rate_limits", {}):
            codes.append(RATE_LIMITED)
        for entry in getattr(self.view, "error_codes", {}).get(self.method, ()):
            codes.extend(_expand(entry))
        return codes

    def _login_required(self) -> bool:
        perms = [type(permission) for permission in self.view.get_permissions()]
        if permissions.AllowAny in perms:
            return False
        return not (permissions.IsAuthenticatedOrReadOnly in perms and self.method in permissions.SAFE_METHODS)


def _error_response(envelope_ref: dict[str, str], status: int, codes: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"allOf": [envelope_ref], "properties": {"error": {"type": "string", "enum": codes}}}
    if status == 429 and RATE_LIMITED.code in codes:
        if codes == [RATE_LIMITED.code]:
            schema["required"] = ["retry_after"]
        else:
            schema["anyOf"] = [
                {"required": ["retry_after"]},
                {"properties": {"error": {"not": {"enum": [RATE_LIMITED.code]}}}},
            ]
    return {
        "description": "Error: " + ", ".join(codes) + ".",
        "content": {"application/json": {"schema": schema}},
    }
