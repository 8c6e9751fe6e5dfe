"""Twilio's error answers: `{"code", "message", "more_info", "status"}` with the HTTP status."""

from aiohttp import web


class TwilioError(Exception):
    """Raised by a handler to answer as Twilio does when it refuses a request."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message)


def error_response(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def invalid(code: int, message: str) -> TwilioError:
    return TwilioError(400, code, message)
