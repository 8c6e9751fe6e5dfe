from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/register", api.RegisterApi.as_view(), name="api-register"),
    path("auth/login", api.LoginApi.as_view(), name="api-login"),
    path("auth/logout", api.LogoutApi.as_view(), name="api-logout"),
    path("auth/me", api.MeApi.as_view(), name="api-me"),
    path("auth/refresh", api.RefreshApi.as_view(), name="api-refresh"),
    path("auth/forgot-password", api.ForgotPasswordApi.as_view(), name="api-forgot-password"),
    path("auth/reset-password", api.ResetPasswordApi.as_view(), name="api-reset-password"),
    path("auth/verify-email", api.VerifyEmailApi.as_view(), name="api-verify-email"),
    path("auth/resend-verification", api.ResendVerificationApi.as_view(), name="api-resend-verification"),
    path("user/password", api.ChangePasswordApi.as_view(), name="api-change-password"),
    path("user/profile", api.ProfileApi.as_view(), name="api-profile"),
    path("user/phone/verify", api.PhoneVerifyApi.as_view(), name="api-phone-verify"),
    path("user/phone/verify/check", api.PhoneVerifyCheckApi.as_view(), name="api-phone-verify-check"),
]
