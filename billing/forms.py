"""Dashboard forms. They only collect input: the rules live in `billing.services`."""

from django import forms

from billing.conf import PREMIUM_INTERVALS


class AddCardForm(forms.Form):
    payment_method_id = forms.CharField(max_length=255)
    set_as_default = forms.BooleanField(required=False)


class CheckoutForm(forms.Form):
    interval = forms.ChoiceField(choices=[(interval, interval) for interval in PREMIUM_INTERVALS])


class CancelSubscriptionForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, label="Why are you leaving? (optional)")
