from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("register", views.register_view, name="register"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("forgot-password", views.forgot_password_view, name="forgot-password"),
    path("reset-password/<str:token>", views.reset_password_view, name="reset-password"),
    path("verify-email/<str:token>", views.verify_email_view, name="verify-email"),
    path("verify-email", views.resend_verification_view, name="resend-verification"),
    path("profile", views.profile_view, name="profile"),
    path("phone/verify/send", views.phone_code_send_view, name="phone-verify-send"),
    path("phone/verify/check", views.phone_code_check_view, name="phone-verify-check"),
]
