"""Request and response shapes of the accounts API (`000_*` §1, §5.1)."""

from rest_framework import serializers

from accounts.models import User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "phone", "created_at"]


class CurrentUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "phone",
            "created_at",
            "email_verified",
            "phone_verified",
            "plan",
            "record_calls",
        ]


class ProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email", "phone", "updated_at"]


class RegisterInput(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)
    phone = serializers.CharField()


class LoginInput(serializers.Serializer):
    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(trim_whitespace=False)


class RefreshInput(serializers.Serializer):
    refresh_token = serializers.CharField()


class ForgotPasswordInput(serializers.Serializer):
    email = serializers.CharField()


class ResetPasswordInput(serializers.Serializer):
    token = serializers.CharField()
    new_password = serializers.CharField(trim_whitespace=False)


class ChangePasswordInput(serializers.Serializer):
    current_password = serializers.CharField(trim_whitespace=False)
    new_password = serializers.CharField(trim_whitespace=False)


class VerifyEmailInput(serializers.Serializer):
    token = serializers.CharField()


class ProfileInput(serializers.Serializer):
    name = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    record_calls = serializers.BooleanField(required=False)


class PhoneVerifyInput(serializers.Serializer):
    phone = serializers.CharField(required=False, help_text="Default: the profile phone.")


class PhoneVerifyCheckInput(serializers.Serializer):
    phone = serializers.CharField(required=False, help_text="Default: the profile phone.")
    code = serializers.CharField(max_length=10)


class PhoneVerifyOutput(serializers.Serializer):
    message = serializers.CharField()
    phone = serializers.CharField(help_text="The number, masked to its last four digits.")


class PhoneVerifyCheckOutput(PhoneVerifyOutput):
    phone_verified = serializers.BooleanField(help_text="Whether the profile phone is now verified.")


class SessionOutput(serializers.Serializer):
    user = UserSerializer()
    token = serializers.CharField()
    refresh_token = serializers.CharField()
