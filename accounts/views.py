"""Dashboard pages for accounts: the same services as the API, rendered as HTML."""

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import ratelimits, services
from accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    PhoneCodeCheckForm,
    PhoneCodeSendForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from callmeback.dashboard import add_service_error, run_action
from callmeback.errors import ApplicationError
from callmeback.ratelimit import enforce_rate_limit

# The number being verified, kept between the two steps (the text, the code) so the page
# that asked (Call now) can show the code's form for it.
PHONE_BEING_VERIFIED = "accounts.phone_being_verified"


def home(request):
    return render(request, "home.html")


@require_http_methods(["GET", "POST"])
def register_view(request):
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enforce_rate_limit(request, ratelimits.REGISTER)
            user = services.user_register(**form.cleaned_data)
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            login(request, user)
            messages.success(request, f"Welcome, {user.name}! We sent a confirmation link to {user.email}.")
            return redirect("accounts:profile")
    return render(request, "accounts/register.html", {"form": form})


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enforce_rate_limit(request, ratelimits.LOGIN)
            user = services.user_authenticate(**form.cleaned_data)
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            login(request, user)
            next_url = request.GET.get("next", "")
            if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
                return redirect(next_url)
            return redirect("accounts:profile")
    return render(request, "accounts/login.html", {"form": form})


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "You have been logged out.")
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def forgot_password_view(request):
    form = ForgotPasswordForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and run_action(
            request,
            lambda: services.password_reset_request(**form.cleaned_data),
            "If an account exists for that email, a reset link is on its way.",
            limit=ratelimits.FORGOT_PASSWORD,
            form=form,
            level=messages.INFO,
        )
    ):
        return redirect("accounts:login")
    return render(request, "accounts/forgot_password.html", {"form": form})


@require_http_methods(["GET", "POST"])
def reset_password_view(request, token: str):
    form = ResetPasswordForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and run_action(
            request,
            lambda: services.password_reset_confirm(token=token, **form.cleaned_data),
            "Your password has been reset. You can log in now.",
            form=form,
        )
    ):
        return redirect("accounts:login")
    return render(request, "accounts/reset_password.html", {"form": form})


def verify_email_view(request, token: str):
    run_action(request, lambda: services.email_verify(token=token), "Thanks, your email is confirmed.")
    return redirect("accounts:profile" if request.user.is_authenticated else "accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request):
    user = request.user
    profile_form = ProfileForm(
        initial={"name": user.name, "email": user.email, "phone": user.phone, "time_zone": user.timezone}
    )
    password_form = ChangePasswordForm()
    if request.method == "POST" and request.POST.get("form") == "profile":
        profile_form = ProfileForm(request.POST)
        if profile_form.is_valid() and run_action(
            request,
            lambda: services.user_update_profile(user=user, **profile_form.cleaned_data),
            "Profile saved.",
            form=profile_form,
        ):
            return redirect("accounts:profile")
    elif request.method == "POST" and request.POST.get("form") == "password":
        password_form = ChangePasswordForm(request.POST)
        if password_form.is_valid() and run_action(
            request,
            lambda: services.user_change_password(user=user, **password_form.cleaned_data),
            "Password changed. Other sessions have been signed out.",
            form=password_form,
        ):
            update_session_auth_hash(request, user)
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"profile_form": profile_form, "password_form": password_form})


@login_required
@require_POST
def resend_verification_view(request):
    run_action(
        request,
        lambda: services.email_verification_resend(user=request.user),
        f"We sent a new confirmation link to {request.user.email}.",
        limit=ratelimits.RESEND_VERIFICATION,
        level=messages.INFO,
    )
    return redirect("accounts:profile")


# --- Phone verification, asked for from another page (Call now) ------------------------------


def _verification_next(request) -> str:
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return next_url
    return "accounts:profile"


@login_required
@require_POST
def phone_code_send_view(request):
    form = PhoneCodeSendForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the phone number to verify.")
        return redirect(_verification_next(request))
    try:
        enforce_rate_limit(request, ratelimits.PHONE_VERIFY_START_IP)
        enforce_rate_limit(request, ratelimits.PHONE_VERIFY_START)
        number = services.phone_verification_start(user=request.user, phone=form.cleaned_data["phone"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        request.session[PHONE_BEING_VERIFIED] = number
        messages.success(request, f"We texted a code to …{number[-4:]}.")
    return redirect(_verification_next(request))


@login_required
@require_POST
def phone_code_check_view(request):
    form = PhoneCodeCheckForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the code we texted you.")
        return redirect(_verification_next(request))
    try:
        enforce_rate_limit(request, ratelimits.PHONE_VERIFY_CHECK_IP)
        enforce_rate_limit(request, ratelimits.PHONE_VERIFY_CHECK)
        verified = services.phone_verification_check(user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"…{verified.phone_number[-4:]} is verified.")
    return redirect(_verification_next(request))
