from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.utils import timezone

from accounts import services
from accounts.models import RevokedToken, User, VerifiedPhoneNumber
from accounts.validators import clean_email, clean_name, clean_phone
from personas.services import catalogue_changed


class _NormalisedContactFields(forms.ModelForm):
    """Admin edits go through the same name/email/phone rules as the API."""

    def clean_email(self) -> str:
        return clean_email(self.cleaned_data["email"])

    def clean_name(self) -> str:
        return clean_name(self.cleaned_data["name"])

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"])


class UserAdminCreationForm(_NormalisedContactFields, BaseUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "name", "phone"]


class UserAdminChangeForm(_NormalisedContactFields, UserChangeForm):
    class Meta:
        model = User
        fields = ["email", "password", "name", "phone", "plan", "email_verified", "phone_verified", "is_active"]


class LockedFilter(admin.SimpleListFilter):
    title = "lockout"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", "Locked"), ("no", "Not locked")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(locked_until__gt=timezone.now())
        if self.value() == "no":
            return queryset.exclude(locked_until__gt=timezone.now())
        return queryset


class VerifiedPhoneNumberInline(admin.TabularInline):
    """The numbers the person proved are theirs with a code; support may remove one."""

    model = VerifiedPhoneNumber
    extra = 0
    fields = ["phone_number", "verified_at"]
    readonly_fields = ["phone_number", "verified_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    ordering = ["-created_at"]
    list_display = ["email", "name", "phone", "plan", "email_verified", "phone_verified", "locked", "created_at"]
    list_filter = ["plan", "email_verified", "phone_verified", LockedFilter, "is_staff", "is_active"]
    search_fields = ["email", "name", "phone"]
    readonly_fields = [
        "id",
        "created_at",
        "updated_at",
        "last_login",
        "failed_login_count",
        "locked_until",
        "token_version",
    ]
    actions = ["unlock_accounts"]
    fieldsets = [
        (None, {"fields": ["id", "email", "password"]}),
        ("Profile", {"fields": ["name", "phone", "plan", "email_verified", "phone_verified", "record_calls"]}),
        ("Security", {"fields": ["failed_login_count", "locked_until", "token_version", "last_login"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "phone", "password1", "password2"]}),
    ]

    def get_inlines(self, request, obj: User | None):
        return [VerifiedPhoneNumberInline] if obj is not None else []

    def delete_model(self, request, obj: User) -> None:
        super().delete_model(request, obj)
        catalogue_changed()  # the user's public personas leave every cached list

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        catalogue_changed()

    @admin.display(boolean=True, description="Locked")
    def locked(self, user: User) -> bool:
        return user.is_locked

    @admin.action(description="Unlock selected accounts")
    def unlock_accounts(self, request, queryset):
        for user in queryset:
            services.user_unlock(user=user)
        self.message_user(request, f"Unlocked {queryset.count()} account(s).", messages.SUCCESS)


@admin.register(RevokedToken)
class RevokedTokenAdmin(admin.ModelAdmin):
    list_display = ["session_id", "user", "revoked_at", "expires_at"]
    search_fields = ["user__email", "session_id"]
    readonly_fields = ["session_id", "user", "revoked_at", "expires_at"]
    list_select_related = ["user"]
