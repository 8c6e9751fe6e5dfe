from django.urls import path

from billing import api

urlpatterns = [
    path("user/billing", api.BillingInfoApi.as_view(), name="api-billing"),
    path("user/payment-method", api.PaymentMethodAddApi.as_view(), name="api-payment-method-add"),
    path(
        "user/payment-method/<str:payment_method_id>",
        api.PaymentMethodRemoveApi.as_view(),
        name="api-payment-method-remove",
    ),
    path(
        "user/payment-method/<str:payment_method_id>/default",
        api.PaymentMethodDefaultApi.as_view(),
        name="api-payment-method-default",
    ),
    path("user/create-payment-intent", api.CreatePaymentIntentApi.as_view(), name="api-create-payment-intent"),
    path("user/cancel-payment-intent", api.CancelPaymentIntentApi.as_view(), name="api-cancel-payment-intent"),
    path("stripe/webhook", api.StripeWebhookApi.as_view(), name="api-stripe-webhook"),
    path("billing/subscription", api.SubscriptionApi.as_view(), name="api-subscription"),
    path("billing/subscription/checkout", api.SubscriptionCheckoutApi.as_view(), name="api-subscription-checkout"),
    path("billing/subscription/cancel", api.SubscriptionCancelApi.as_view(), name="api-subscription-cancel"),
    path("billing/invoices", api.InvoicesApi.as_view(), name="api-invoices"),
]
