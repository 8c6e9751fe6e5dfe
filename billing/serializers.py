"""Request and response shapes of the billing API (`000_*` §6, `002_*` §7).

Amounts follow the spec: cents where it shows cents (`"amount": 225`), dollars elsewhere.
"""

from rest_framework import serializers

from billing import pricing
from billing.models import Invoice, PaymentAuthorization, PaymentMethod, Subscription


class PaymentMethodOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="stripe_id")

    class Meta:
        model = PaymentMethod
        fields = ["id", "type", "last4", "brand", "exp_month", "exp_year", "is_default"]


class BillingOutput(serializers.Serializer):
    payment_methods = PaymentMethodOutput(many=True)
    balance = serializers.FloatField(help_text="Stripe customer balance, in dollars.")
    currency = serializers.CharField()


class AddPaymentMethodInput(serializers.Serializer):
    payment_method_id = serializers.CharField(max_length=255, help_text="A `pm_...` id from Stripe.js.")
    set_as_default = serializers.BooleanField(default=False)


class AddPaymentMethodOutput(serializers.Serializer):
    payment_method = PaymentMethodOutput()


class CreatePaymentIntentInput(serializers.Serializer):
    estimated_duration = serializers.IntegerField(
        min_value=pricing.MIN_ESTIMATE_MINUTES, max_value=pricing.MAX_ESTIMATE_MINUTES, help_text="Minutes."
    )
    call_type = serializers.ChoiceField(
        choices=PaymentAuthorization.CallType.choices, default=PaymentAuthorization.CallType.IMMEDIATE
    )


class PaymentIntentOutput(serializers.Serializer):
    payment_intent_id = serializers.CharField()
    client_secret = serializers.CharField()
    amount = serializers.IntegerField(help_text="Cents.")
    currency = serializers.CharField()


class CancelPaymentIntentInput(serializers.Serializer):
    payment_intent_id = serializers.CharField(max_length=255, help_text="From create-payment-intent.")


class CanceledPaymentIntentOutput(serializers.Serializer):
    payment_intent_id = serializers.CharField()
    status = serializers.CharField(help_text="`canceled`: nothing is held any more.")
    message = serializers.CharField()


class CheckoutInput(serializers.Serializer):
    plan = serializers.CharField(default="premium", help_text="The plan to buy; premium is the only paid one.")
    interval = serializers.CharField()


class CheckoutOutput(serializers.Serializer):
    checkout_url = serializers.URLField()


class SubscriptionOutput(serializers.Serializer):
    plan = serializers.CharField()
    status = serializers.CharField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at = serializers.DateTimeField(allow_null=True)

    @classmethod
    def shape(cls, *, plan: str, subscription: Subscription | None) -> dict:
        return cls(
            {
                "plan": plan,
                "status": subscription.status if subscription else None,
                "current_period_end": subscription.current_period_end if subscription else None,
                "cancel_at": subscription.ends_at if subscription else None,
            }
        ).data


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CancelOutput(serializers.Serializer):
    message = serializers.CharField()
    ends_at = serializers.DateTimeField(allow_null=True)


class InvoiceOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="stripe_invoice_id")
    amount_due = serializers.SerializerMethodField(help_text="Dollars.")
    amount_paid = serializers.SerializerMethodField(help_text="Dollars.")
    created_at = serializers.DateTimeField(source="issued_at")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "amount_due",
            "amount_paid",
            "currency",
            "created_at",
            "period_start",
            "period_end",
            "hosted_invoice_url",
            "invoice_pdf",
        ]

    def get_amount_due(self, invoice: Invoice) -> float:
        return pricing.cents_to_dollars(invoice.amount_due)

    def get_amount_paid(self, invoice: Invoice) -> float:
        return pricing.cents_to_dollars(invoice.amount_paid)
