"""The auth and profile API (`000_*` §1 and §5.1, plus refresh and passwords from `002_*`)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import ratelimits, services, tokens
from accounts.serializers import (
    ChangePasswordInput,
    CurrentUserSerializer,
    ForgotPasswordInput,
    LoginInput,
    PhoneVerifyCheckInput,
    PhoneVerifyCheckOutput,
    PhoneVerifyInput,
    PhoneVerifyOutput,
    ProfileInput,
    ProfileSerializer,
    RefreshInput,
    RegisterInput,
    ResetPasswordInput,
    SessionOutput,
    UserSerializer,
    VerifyEmailInput,
)
from accounts.services import EmailExists, InvalidCredentials, InvalidResetToken, PhoneExists
from callmeback.api import MessageOutput, PublicApiView, parse_input
from callmeback.logging import mask_phone
from callmeback.ratelimit import enforce_rate_limit
from callmeback.twilio import TwilioServiceError


def _session_body(user, pair: tokens.TokenPair) -> dict:
    return {"user": UserSerializer(user).data, "token": pair.access, "refresh_token": pair.refresh}


class RegisterApi(PublicApiView):
    rate_limits = {"POST": ratelimits.REGISTER}
    error_codes = {"POST": [EmailExists, PhoneExists]}

    @extend_schema(request=RegisterInput, responses={201: SessionOutput})
    def post(self, request):
        user = services.user_register(**parse_input(RegisterInput, request))
        return Response(_session_body(user, tokens.token_pair_issue(user=user)), status=status.HTTP_201_CREATED)


class LoginApi(PublicApiView):
    rate_limits = {"POST": ratelimits.LOGIN}
    error_codes = {"POST": [InvalidCredentials]}

    @extend_schema(request=LoginInput, responses={200: SessionOutput})
    def post(self, request):
        user, pair = services.user_login(**parse_input(LoginInput, request))
        return Response(_session_body(user, pair))


class LogoutApi(APIView):
    rate_limits = {"POST": ratelimits.LOGOUT}

    @extend_schema(request=None, responses={200: MessageOutput})
    def post(self, request):
        tokens.session_revoke(user=request.user, token=request.auth)
        return Response({"message": "Logged out successfully"})


class MeApi(APIView):
    rate_limits = {"GET": ratelimits.ME}

    @extend_schema(responses={200: inline_serializer("MeOutput", {"user": CurrentUserSerializer()})})
    def get(self, request):
        return Response({"user": CurrentUserSerializer(request.user).data})


class RefreshApi(PublicApiView):
    rate_limits = {"POST": ratelimits.REFRESH}
    error_codes = {"POST": [tokens.InvalidToken, tokens.TokenRevoked]}

    @extend_schema(
        request=RefreshInput, responses={200: inline_serializer("RefreshOutput", {"token": serializers.CharField()})}
    )
    def post(self, request):
        data = parse_input(RefreshInput, request)
        return Response({"token": tokens.access_token_refresh(refresh_token=data["refresh_token"])})


class ForgotPasswordApi(PublicApiView):
    rate_limits = {"POST": ratelimits.FORGOT_PASSWORD}

    @extend_schema(request=ForgotPasswordInput, responses={200: MessageOutput})
    def post(self, request):
        services.password_reset_request(**parse_input(ForgotPasswordInput, request))
        return Response({"message": "If an account exists for that email, a reset link is on its way."})


class ResetPasswordApi(PublicApiView):
    rate_limits = {"POST": ratelimits.RESET_PASSWORD}
    error_codes = {"POST": [InvalidResetToken]}

    @extend_schema(request=ResetPasswordInput, responses={200: MessageOutput})
    def post(self, request):
        services.password_reset_confirm(**parse_input(ResetPasswordInput, request))
        return Response({"message": "Password has been reset. You can now log in."})


class VerifyEmailApi(PublicApiView):
    rate_limits = {"POST": ratelimits.VERIFY_EMAIL}
    error_codes = {"POST": [InvalidResetToken]}

    @extend_schema(request=VerifyEmailInput, responses={200: MessageOutput})
    def post(self, request):
        services.email_verify(**parse_input(VerifyEmailInput, request))
        return Response({"message": "Email verified"})


class ResendVerificationApi(APIView):
    rate_limits = {"POST": ratelimits.RESEND_VERIFICATION}

    @extend_schema(request=None, responses={200: MessageOutput})
    def post(self, request):
        services.email_verification_resend(user=request.user)
        return Response({"message": "Verification email sent"})


class ChangePasswordApi(APIView):
    rate_limits = {"PUT": ratelimits.CHANGE_PASSWORD}

    @extend_schema(request=ChangePasswordInput, responses={200: MessageOutput})
    def put(self, request):
        services.user_change_password(user=request.user, **parse_input(ChangePasswordInput, request))
        return Response({"message": "Password updated"})


class ProfileApi(APIView):
    rate_limits = {"PUT": ratelimits.UPDATE_PROFILE}
    error_codes = {"PUT": [EmailExists, PhoneExists]}

    @extend_schema(
        request=ProfileInput, responses={200: inline_serializer("ProfileOutput", {"user": ProfileSerializer()})}
    )
    def put(self, request):
        user = services.user_update_profile(user=request.user, **parse_input(ProfileInput, request))
        return Response({"user": ProfileSerializer(user).data})


class PhoneVerifyApi(APIView):
    """Texts a Twilio Verify code to the number (default: the profile phone)."""

    rate_limits = {"POST": ratelimits.PHONE_VERIFY_START}
    error_codes = {"POST": [TwilioServiceError]}

    @extend_schema(request=PhoneVerifyInput, responses={200: PhoneVerifyOutput})
    def post(self, request):
        enforce_rate_limit(request._request, ratelimits.PHONE_VERIFY_START_IP)
        number = services.phone_verification_start(user=request.user, **parse_input(PhoneVerifyInput, request))
        return Response({"message": "Verification code sent", "phone": mask_phone(number)})


class PhoneVerifyCheckApi(APIView):
    """Approves the number with the code it received."""

    rate_limits = {"POST": ratelimits.PHONE_VERIFY_CHECK}
    error_codes = {"POST": [TwilioServiceError]}

    @extend_schema(request=PhoneVerifyCheckInput, responses={200: PhoneVerifyCheckOutput})
    def post(self, request):
        enforce_rate_limit(request._request, ratelimits.PHONE_VERIFY_CHECK_IP)
        verified = services.phone_verification_check(user=request.user, **parse_input(PhoneVerifyCheckInput, request))
        body = {
            "message": "Phone number verified",
            "phone": mask_phone(verified.phone_number),
            "phone_verified": request.user.phone_verified,
        }
        return Response(body)
