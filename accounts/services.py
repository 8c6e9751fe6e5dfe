"""Every write to accounts: registration, login and lockout, passwords, profile, email,
and proving a phone number is yours (Twilio Verify)."""

import copy
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import emails
from accounts.models import User, VerifiedPhoneNumber
from accounts.tokens import TokenPair, token_pair_issue
from accounts.validators import clean_callable_phone, clean_email, clean_name, clean_phone, clean_timezone
from callmeback import twilio
from callmeback.db import unique_field_constraint_names, violated_constraint
from callmeback.errors import ApplicationError, RateLimitExceeded, ValidationFailed
from callmeback.logging import mask_phone
from callmeback.validation import Rule, clean_fields

logger = logging.getLogger(__name__)


class EmailExists(ApplicationError):
    code = "EMAIL_EXISTS"
    status_code = 409
    default_message = "Email already registered."


class PhoneExists(ApplicationError):
    code = "PHONE_EXISTS"
    status_code = 409
    default_message = "Phone already registered."


class InvalidCredentials(ApplicationError):
    code = "INVALID_CREDENTIALS"
    status_code = 401
    default_message = "Invalid email or password."


class InvalidResetToken(ApplicationError):
    code = "INVALID_TOKEN"
    status_code = 400
    default_message = "This link is invalid or has expired. Request a new one."


def _validate_password(value: str) -> str:
    validate_password(value)
    return value


# Password fields go through AUTH_PASSWORD_VALIDATORS.
_ACCOUNT_RULES: dict[str, Rule] = {
    "name": clean_name,
    "email": clean_email,
    "phone": clean_phone,
    "timezone": clean_timezone,
    "password": _validate_password,
    "new_password": _validate_password,
}


def _clean_fields(**fields: str | None) -> dict[str, str]:
    return clean_fields(_ACCOUNT_RULES, fields)


def _ensure_unique(*, email: str | None, phone: str | None, exclude: User | None = None) -> None:
    others = User.objects.exclude(pk=exclude.pk) if exclude else User.objects.all()
    if email and others.filter(email=email).exists():
        raise EmailExists()
    if phone and others.filter(phone=phone).exists():
        raise PhoneExists()


def _save_unique(user: User, *, fields: list[str] | None = None) -> None:
    """Saves, turning a lost race on the unique email/phone into the right 409."""
    try:
        with transaction.atomic():
            if fields is None:
                user.save()
            else:
                user.save(update_fields=fields)
    except IntegrityError as error:
        constraint = violated_constraint(error)
        if constraint in unique_field_constraint_names(User, "phone"):
            raise PhoneExists() from None
        if constraint in unique_field_constraint_names(User, "email"):
            raise EmailExists() from None
        raise


def _user_create(*, name: str, email: str, password: str, phone: str, **flags: bool) -> User:
    cleaned = _clean_fields(name=name, email=email, phone=phone, password=password)
    _ensure_unique(email=cleaned["email"], phone=cleaned["phone"])
    user = User(name=cleaned["name"], email=cleaned["email"], phone=cleaned["phone"], **flags)
    user.set_password(password)
    _save_unique(user)
    return user


def user_register(*, name: str, email: str, password: str, phone: str) -> User:
    user = _user_create(name=name, email=email, password=password, phone=phone)
    logger.info("Registered user %s (phone %s)", user.pk, mask_phone(user.phone))
    transaction.on_commit(lambda: emails.send_email_verification(user))
    return user


def user_create_superuser(*, name: str, email: str, password: str, phone: str) -> User:
    """An admin account (`manage.py createsuperuser`), held to the rules of registration."""
    user = _user_create(
        name=name, email=email, password=password, phone=phone, is_staff=True, is_superuser=True, email_verified=True
    )
    logger.info("Created superuser %s (phone %s)", user.pk, mask_phone(user.phone))
    return user


def user_login(*, email: str, password: str) -> tuple[User, TokenPair]:
    user = user_authenticate(email=email, password=password)
    return user, token_pair_issue(user=user)


def user_authenticate(*, email: str, password: str) -> User:
    """Checks credentials and applies the lockout.

    Unknown email and wrong password give the same answer, after the same bcrypt work.
    Only the lockout itself, after `LOGIN_FAILURE_LIMIT` failures, says anything more.
    """
    normalized = (email or "").strip().lower()
    user = User.objects.filter(email=normalized, is_active=True).first()
    if user is None:
        User().set_password(password)  # equal time for unknown emails
        raise InvalidCredentials()
    if user.is_locked:
        raise _locked_error(user)
    if not user.check_password(password):
        _record_failed_login(user)
        raise InvalidCredentials()
    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
    return user


def _locked_error(user: User) -> RateLimitExceeded:
    retry_after = max(1, int((user.locked_until - timezone.now()).total_seconds()))
    minutes = -(-retry_after // 60)
    return RateLimitExceeded(
        f"Too many failed login attempts. The account is locked; try again in {minutes} minutes.",
        retry_after=retry_after,
    )


def _record_failed_login(user: User) -> None:
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.failed_login_count += 1
        if locked.failed_login_count >= settings.LOGIN_FAILURE_LIMIT:
            locked.locked_until = timezone.now() + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
            locked.failed_login_count = 0
            logger.warning("Locked user %s after repeated failed logins", user.pk)
        locked.save(update_fields=["failed_login_count", "locked_until"])


def user_set_plan(*, user: User, plan: str) -> None:
    """Moves the user between the free and premium plans (called by billing)."""
    if plan not in User.Plan.values:
        raise ValueError(f"Unknown plan {plan!r}")
    User.objects.filter(pk=user.pk).exclude(plan=plan).update(plan=plan, updated_at=timezone.now())
    user.plan = plan


def user_unlock(*, user: User) -> None:
    User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)


def user_update_profile(
    *,
    user: User,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    record_calls: bool | None = None,
    time_zone: str | None = None,
) -> User:
    """Changing the email or phone clears its verified flag; a new email is re-verified.
    Returns the updated user; the one passed in is left as it was, even on failure."""
    cleaned = _clean_fields(name=name, email=email, phone=phone, timezone=time_zone)
    email_changed = "email" in cleaned and cleaned["email"] != user.email
    phone_changed = "phone" in cleaned and cleaned["phone"] != user.phone
    _ensure_unique(
        email=cleaned["email"] if email_changed else None,
        phone=cleaned["phone"] if phone_changed else None,
        exclude=user,
    )
    updated = copy.copy(user)
    if "name" in cleaned:
        updated.name = cleaned["name"]
    if email_changed:
        updated.email = cleaned["email"]
        updated.email_verified = False
    if phone_changed:
        # A number proved with a code already (on the Call now page) stays proved.
        updated.phone = cleaned["phone"]
        updated.phone_verified = VerifiedPhoneNumber.objects.filter(user=user, phone_number=updated.phone).exists()
    if "timezone" in cleaned:
        updated.timezone = cleaned["timezone"]
    if record_calls is not None:
        updated.record_calls = bool(record_calls)
    fields = ["name", "email", "email_verified", "phone", "phone_verified", "record_calls", "timezone", "updated_at"]
    _save_unique(updated, fields=fields)
    if email_changed:
        transaction.on_commit(lambda: emails.send_email_verification(updated))
    return updated


def _set_password(user: User, new_password: str) -> None:
    """Stores a new password and ends every session issued before it."""
    user.set_password(new_password)
    user.token_version += 1
    user.failed_login_count = 0
    user.locked_until = None
    user.save(update_fields=["password", "token_version", "failed_login_count", "locked_until", "updated_at"])


def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password):
        raise ValidationFailed.for_field("current_password", "Current password is incorrect.")
    _clean_fields(new_password=new_password)
    _set_password(user, new_password)


def password_reset_request(*, email: str) -> None:
    """Emails a reset link if the account exists; says nothing either way."""
    try:
        normalized = clean_email(email)
    except ValidationError as error:
        raise ValidationFailed.for_field("email", error.messages[0]) from None
    user = User.objects.filter(email=normalized, is_active=True).first()
    if user is not None:
        emails.send_password_reset(user)


def password_reset_confirm(*, token: str, new_password: str) -> User:
    """Sets the new password if the emailed token is valid; the token works once."""
    user = emails.password_reset_token_user(token)
    if user is None:
        raise InvalidResetToken()
    _clean_fields(new_password=new_password)
    _set_password(user, new_password)
    return user


def email_verification_resend(*, user: User) -> None:
    if not user.email_verified:
        emails.send_email_verification(user)


def email_verify(*, token: str) -> User:
    try:
        payload = signing.loads(token, salt=emails.EMAIL_VERIFICATION_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.BadSignature:
        raise InvalidResetToken("This verification link is invalid or has expired.") from None
    user = User.objects.filter(pk=payload.get("user"), email=payload.get("email")).first()
    if user is None:
        raise InvalidResetToken("This verification link is no longer valid.")
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified", "updated_at"])
    return user


# --- Phone verification (Twilio Verify) -------------------------------------------------------

# Twilio Verify's codes: too many codes sent to, or checks tried for, one number.
_VERIFY_TOO_MANY = {60202, 60203}
_CODE_RE = re.compile(r"^[0-9]{4,10}$")


def _verifiable_phone(user: User, phone: str | None) -> str:
    try:
        return clean_callable_phone(phone if phone is not None else user.phone)
    except ValidationError as error:
        raise ValidationFailed.for_field("phone", error.messages[0]) from None


def _verify_refused(error: twilio.TwilioRequestRejected, *, checking: bool) -> ApplicationError:
    """Verify's refusals in our terms; a check finding no verification means none is pending."""
    if error.twilio_code in _VERIFY_TOO_MANY:
        return RateLimitExceeded("Too many verification attempts for this number. Try again later.", retry_after=600)
    if checking and error.is_missing:
        return ValidationFailed.for_field("code", "No code is waiting for this number. Request a new one.")
    return error


def phone_verification_start(*, user: User, phone: str | None = None) -> str:
    """Texts a code to `phone` (default: the profile phone) through Twilio Verify, which
    makes the code, expires it and counts attempts. Returns the number, in E.164."""
    number = _verifiable_phone(user, phone)
    try:
        twilio.verification_start(to=number)
    except twilio.TwilioRequestRejected as error:
        raise _verify_refused(error, checking=False) from None
    logger.info("Sent a verification code to %s for user %s", mask_phone(number), user.pk)
    return number


def phone_verification_check(*, user: User, code: str, phone: str | None = None) -> VerifiedPhoneNumber:
    """Approves `phone` (default: the profile phone) when `code` is the one Verify sent: the
    number joins the user's verified numbers, and the profile phone becomes verified."""
    number = _verifiable_phone(user, phone)
    code = (code or "").strip()
    if not _CODE_RE.match(code):
        raise ValidationFailed.for_field("code", "The code is 4 to 10 digits.")
    try:
        approved = twilio.verification_check(to=number, code=code)
    except twilio.TwilioRequestRejected as error:
        raise _verify_refused(error, checking=True) from None
    if not approved:
        raise ValidationFailed.for_field("code", "That code is not correct.")
    with transaction.atomic():
        verified, _ = VerifiedPhoneNumber.objects.update_or_create(
            user=user, phone_number=number, defaults={"verified_at": timezone.now()}
        )
        if number == user.phone and not user.phone_verified:
            user.phone_verified = True
            user.save(update_fields=["phone_verified", "updated_at"])
    logger.info("Verified %s for user %s", mask_phone(number), user.pk)
    return verified
