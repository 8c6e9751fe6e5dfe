"""Dashboard forms. They only collect input: the rules live in `accounts.services`."""

from django import forms

from accounts.validators import PASSWORD_RULES


class RegisterForm(forms.Form):
    name = forms.CharField(max_length=100)
    email = forms.CharField(max_length=255, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(
        max_length=32,
        help_text="With country code, e.g. +15551234567.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        strip=False,
        help_text=f"Use {PASSWORD_RULES}.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class LoginForm(forms.Form):
    email = forms.CharField(max_length=255, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ForgotPasswordForm(forms.Form):
    email = forms.CharField(max_length=255, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class ResetPasswordForm(forms.Form):
    new_password = forms.CharField(
        strip=False,
        help_text=f"Use {PASSWORD_RULES}.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=100)
    email = forms.CharField(max_length=255, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(max_length=32, widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))
    time_zone = forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        help_text="Scheduled calls are shown and booked in this zone, e.g. Europe/London.",
        widget=forms.TextInput(attrs={"data-browser-timezone": ""}),
    )

    def clean_time_zone(self) -> str | None:
        return self.cleaned_data["time_zone"] or None


class ChangePasswordForm(forms.Form):
    current_password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password = forms.CharField(
        strip=False,
        help_text=f"Use {PASSWORD_RULES}.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class PhoneCodeSendForm(forms.Form):
    phone = forms.CharField(
        label="Phone number", max_length=20, help_text="In international format, e.g. +14155550123."
    )


class PhoneCodeCheckForm(forms.Form):
    phone = forms.CharField(widget=forms.HiddenInput, max_length=20)
    code = forms.CharField(
        label="Code from the text", max_length=10, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
