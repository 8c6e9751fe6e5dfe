"""DRF authentication with the spec's error codes for bad, expired and revoked tokens."""

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.tokens import InvalidToken, access_token_authenticate
from callmeback.errors import ApplicationError


class TokenAuthenticationFailed(AuthenticationFailed):
    """Carries INVALID_TOKEN or TOKEN_REVOKED to the exception handler."""

    def __init__(self, error: ApplicationError) -> None:
        super().__init__(detail=error.message)
        self.error_code = error.code


class BearerTokenAuthentication(JWTAuthentication):
    """`Authorization: Bearer <jwt>`; no header means anonymous (then 401 UNAUTHORIZED)."""

    def authenticate(self, request):
        header = self.get_header(request)
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        try:
            if len(parts) != 2:
                raise InvalidToken("Authorization header must be 'Bearer <token>'.")
            return access_token_authenticate(parts[1])
        except ApplicationError as error:
            raise TokenAuthenticationFailed(error) from None
