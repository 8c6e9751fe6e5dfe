import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

E164_REGEX = r"^\+[1-9][0-9]{9,14}$"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=email.strip().lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    class Plan(models.TextChoices):
        FREE = "free", "Free"
        PREMIUM = "premium", "Premium"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=255, unique=True)
    name = models.CharField(max_length=100)
    phone = models.CharField(max_length=16, unique=True, help_text="E.164, e.g. +15551234567")
    email_verified = models.BooleanField(default=False)
    phone_verified = models.BooleanField(default=False)
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.FREE)
    record_calls = models.BooleanField(default=False, help_text="Twilio records this person's calls (both sides).")

    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    failed_login_count = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Carried in every JWT; bumping it (on a password change) ends every earlier session.
    token_version = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name", "phone"]

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
            models.CheckConstraint(condition=models.Q(phone__regex=E164_REGEX), name="user_phone_e164"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class RevokedToken(models.Model):
    """A revoked login session: the `sid` shared by its refresh and access tokens."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session_id = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="revoked_tokens")
    expires_at = models.DateTimeField(db_index=True, help_text="After this the token is dead anyway.")
    revoked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session {self.session_id[:8]}… of {self.user_id}"


class VerifiedPhoneNumber(models.Model):
    """A number the user proved is theirs with a code sent to it; calls only ever go to these."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="verified_phone_numbers")
    phone_number = models.CharField(max_length=16)
    verified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-verified_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "phone_number"], name="verified_phone_once_per_user"),
            models.CheckConstraint(condition=models.Q(phone_number__regex=E164_REGEX), name="verified_phone_e164"),
        ]

    def __str__(self) -> str:
        return f"…{self.phone_number[-4:]} of {self.user_id}"
