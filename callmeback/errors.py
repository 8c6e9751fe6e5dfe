"""The API's one error envelope: `{"error", "message", "details"}` (+ `retry_after` on 429).

Services raise `ApplicationError` (or a subclass); DRF's own exceptions, Django's 404s and
anything unexpected are turned into the same shape here, so a client sees one format.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A business-rule failure with the spec's error code, HTTP status and message."""

    code = "BAD_REQUEST"
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.details = details or {}
        self.retry_after = retry_after
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    """Input that breaks a rule; `details` maps each field to its messages."""

    code = "VALIDATION_ERROR"
    default_message = "Invalid request data."

    @classmethod
    def for_field(cls, field: str, message: str) -> "ValidationFailed":
        return cls(message, details={field: [message]})

    @classmethod
    def for_fields(cls, errors: dict[str, list[str]]) -> "ValidationFailed":
        """Every bad field in `details`, the first one's first message as the message."""
        return cls(next(iter(errors.values()))[0], details=errors)


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    status_code = 404
    default_message = "Resource not found."


class Forbidden(ApplicationError):
    code = "FORBIDDEN"
    status_code = 403
    default_message = "You are not allowed to do that."


class RateLimitExceeded(ApplicationError):
    code = "RATE_LIMIT_EXCEEDED"
    status_code = 429
    default_message = "Too many requests"


# No error message quotes more of the client's input than this (a 100 KB tag is not echoed).
MAX_MESSAGE_CHARS = 300
EXCERPT_CHARS = 40


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short quote of a client's input for an error message."""
    text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _clip(value: Any, depth: int = 0) -> Any:
    """Every message in an error body, cut to `MAX_MESSAGE_CHARS`; deep structures end early."""
    if isinstance(value, str):
        return excerpt(value, MAX_MESSAGE_CHARS)
    if depth > 4:
        return "…"
    if isinstance(value, dict):
        return {excerpt(key, EXCERPT_CHARS): _clip(item, depth + 1) for key, item in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        return [_clip(item, depth + 1) for item in value[:50]]
    return value


def error_body(code: str, message: str, details: dict | None = None, retry_after: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": _clip(message)}
    if retry_after is not None:
        body["retry_after"] = retry_after
    body["details"] = _clip(details or {})
    return body


def payload_too_large_message() -> str:
    """Names the limit that is enforced, `MAX_REQUEST_BODY_BYTES`."""
    limit = settings.MAX_REQUEST_BODY_BYTES
    size = f"{limit // 2**20} MB" if limit % 2**20 == 0 else f"{limit // 1024} KB"
    return f"Request body is larger than {size}."


def error_response(
    code: str, message: str, status: int, details: dict | None = None, retry_after: int | None = None
) -> JsonResponse:
    """The envelope as a plain Django response, for code that runs outside DRF."""
    response = JsonResponse(error_body(code, message, details, retry_after), status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _flatten_validation_detail(detail: Any) -> dict[str, Any]:
    """DRF's nested ErrorDetail structure → plain `{field: [messages]}`."""
    if isinstance(detail, dict):
        return {
            field: [str(m) for m in messages] if isinstance(messages, list) else _flatten_validation_detail(messages)
            for field, messages in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def _first_message(details: dict[str, Any], path: str = "") -> str:
    """The first error, named by its path: `tags[1]: This field may not be null.`"""
    for field, messages in details.items():
        if field == "non_field_errors":
            name = path
        elif str(field).isdigit():
            name = f"{path}[{field}]"
        else:
            name = f"{path}.{field}" if path else str(field)
        if isinstance(messages, list) and messages:
            return f"{name}: {messages[0]}" if name else str(messages[0])
        if isinstance(messages, dict):
            return _first_message(messages, name)
    return "Invalid request data."


# DRF exception class → (status, code, message). Order matters: subclasses first.
_DRF_EXCEPTIONS: list[tuple[type[Exception], int, str, str | None]] = [
    (drf_exceptions.ParseError, 400, "VALIDATION_ERROR", "Malformed request body: expected valid JSON."),
    (drf_exceptions.NotAuthenticated, 401, "UNAUTHORIZED", "Authentication required."),
    (drf_exceptions.AuthenticationFailed, 401, "INVALID_TOKEN", "Token is invalid or expired."),
    (drf_exceptions.PermissionDenied, 403, "FORBIDDEN", "You are not allowed to do that."),
    (drf_exceptions.NotFound, 404, "NOT_FOUND", "Resource not found."),
    (drf_exceptions.MethodNotAllowed, 405, "METHOD_NOT_ALLOWED", None),
    (drf_exceptions.NotAcceptable, 406, "NOT_ACCEPTABLE", None),
    (drf_exceptions.UnsupportedMediaType, 415, "UNSUPPORTED_MEDIA_TYPE", None),
]


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every error leaves the API in the envelope."""
    headers: dict[str, str] = {}

    if isinstance(exc, ApplicationError):
        body = error_body(exc.code, exc.message, exc.details, exc.retry_after)
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return Response(body, status=exc.status_code, headers=headers)

    if isinstance(exc, drf_exceptions.Throttled):
        retry_after = int(exc.wait or 1)
        body = error_body("RATE_LIMIT_EXCEEDED", "Too many requests", retry_after=retry_after)
        return Response(body, status=429, headers={"Retry-After": str(retry_after)})

    if isinstance(exc, drf_exceptions.ValidationError):
        details = _flatten_validation_detail(exc.detail)
        return Response(error_body("VALIDATION_ERROR", _first_message(details), details), status=400)

    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("PAYLOAD_TOO_LARGE", payload_too_large_message()), status=413)

    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    for exc_class, status, code, message in _DRF_EXCEPTIONS:
        if isinstance(exc, exc_class):
            if isinstance(exc, drf_exceptions.AuthenticationFailed):
                code = getattr(exc, "error_code", code)
                message = str(exc.detail)
            auth_header = _www_authenticate(context) if status == 401 else None
            if auth_header:
                headers["WWW-Authenticate"] = auth_header
            return Response(error_body(code, message or str(exc.detail)), status=status, headers=headers)

    if isinstance(exc, drf_exceptions.APIException):
        return Response(error_body("SERVER_ERROR", str(exc.detail)), status=exc.status_code)

    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response(error_body("SERVER_ERROR", "Internal server error"), status=500)


def _www_authenticate(context: dict) -> str | None:
    view = context.get("view")
    request = context.get("request")
    if view is None or request is None:
        return None
    return view.get_authenticate_header(request)


def _is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


@csrf_exempt
def api_not_found(request):
    """Any method: the API takes bearer tokens, not cookies, so CSRF has nothing to guard here."""
    return error_response("NOT_FOUND", "No such endpoint.", 404)


def handler404(request, exception=None):
    """Unknown `/api/...` paths answer in the envelope; pages get the HTML 404."""
    if _is_api_path(request.path):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if _is_api_path(request.path):
        return error_response("SERVER_ERROR", "Internal server error", 500)
    return defaults.server_error(request)


def handler400(request, exception=None):
    if _is_api_path(request.path):
        return error_response("VALIDATION_ERROR", "Bad request.", 400)
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if _is_api_path(request.path):
        return error_response("FORBIDDEN", "You are not allowed to do that.", 403)
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a refused `/api/...` request still answers in the envelope."""
    if _is_api_path(request.path):
        return error_response("FORBIDDEN", "CSRF verification failed.", 403)
    return csrf.csrf_failure(request, reason)
