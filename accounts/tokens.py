"""JWT sessions: issuing, verifying and revoking the bearer tokens of the API.

A login starts a session: one refresh token and the access tokens minted from it all
carry the session id (`sid`, the refresh token's jti). Revoking the session on logout
kills every one of them; changing the password bumps the user's token version, which
ends every session issued before it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Exists
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from accounts.models import RevokedToken, User
from callmeback.errors import ApplicationError

SESSION_CLAIM = "sid"
VERSION_CLAIM = "ver"


class InvalidToken(ApplicationError):
    code = "INVALID_TOKEN"
    status_code = 401
    default_message = "Token is invalid or expired."


class TokenRevoked(ApplicationError):
    code = "TOKEN_REVOKED"
    status_code = 401
    default_message = "Token has been revoked."


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def token_pair_issue(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = refresh["jti"]
    refresh[VERSION_CLAIM] = user.token_version
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _decode(token_class: type[Token], raw: str | bytes) -> Token:
    try:
        return token_class(raw)
    except TokenError:
        raise InvalidToken() from None


def _session_user(token: Token) -> User:
    """The live user behind a verified token, or the reason it no longer counts.

    One query: the user, with whether the session was revoked. Both are read on every
    request, so a logout or a password change counts at once, in every process.
    """
    session_id = token.get(SESSION_CLAIM)
    if not session_id:
        raise InvalidToken()
    user = (
        User.objects.filter(pk=token.get("user_id"), is_active=True)
        .annotate(session_revoked=Exists(RevokedToken.objects.filter(session_id=session_id)))
        .order_by()
        .first()
    )
    if user is None:
        raise InvalidToken()
    if token.get(VERSION_CLAIM) != user.token_version or user.session_revoked:
        raise TokenRevoked()
    return user


def access_token_authenticate(raw: str | bytes) -> tuple[User, AccessToken]:
    token = _decode(AccessToken, raw)
    return _session_user(token), token


def access_token_refresh(*, refresh_token: str) -> str:
    """A new access token in the same session, if the session is still alive."""
    refresh = _decode(RefreshToken, refresh_token)
    _session_user(refresh)
    return str(refresh.access_token)


def session_revoke(*, user: User, token: Token) -> None:
    """Revokes the session `token` belongs to: it, its refresh token and their siblings."""
    expires_at = datetime.fromtimestamp(token["exp"], tz=UTC)
    # A refresh token outlives its access tokens; keep the record until it has expired too.
    expires_at = max(expires_at, timezone.now() + RefreshToken.lifetime)
    RevokedToken.objects.get_or_create(
        session_id=token[SESSION_CLAIM], defaults={"user": user, "expires_at": expires_at}
    )


def revoked_tokens_purge() -> int:
    """Drops revocation records for tokens that have expired on their own."""
    deleted, _ = RevokedToken.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
