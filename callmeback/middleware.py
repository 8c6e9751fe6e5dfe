"""Request-wide plumbing that runs before and after every view."""

from django.conf import settings

from callmeback.errors import error_response, payload_too_large_message


class RequestSizeLimitMiddleware:
    """Refuses API bodies over `MAX_REQUEST_BODY_BYTES` before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response("VALIDATION_ERROR", "Invalid Content-Length header.", 400)
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return error_response("PAYLOAD_TOO_LARGE", payload_too_large_message(), 413)
        return self.get_response(request)


class RateLimitHeadersMiddleware:
    """Adds `X-RateLimit-*` to responses of rate-limited endpoints."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = getattr(request, "ratelimit", None)
        if state is not None:
            for header, value in state.headers().items():
                response[header] = value
        return response
