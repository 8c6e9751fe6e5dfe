"""The billing API: cards and pre-authorisations (`000_*` §6), the Stripe webhook (§7.2) and
the premium subscription (`002_*` §7)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import pricing, ratelimits, selectors, webhooks
from billing.conf import stripe_config
from billing.errors import (
    AlreadySubscribed,
    CannotRemoveDefault,
    InvalidWebhookSignature,
    NoPaymentMethod,
    PaymentDeclined,
    ServiceUnavailable,
    StripeServiceError,
)
from billing.serializers import (
    AddPaymentMethodInput,
    AddPaymentMethodOutput,
    BillingOutput,
    CanceledPaymentIntentOutput,
    CancelInput,
    CancelOutput,
    CancelPaymentIntentInput,
    CheckoutInput,
    CheckoutOutput,
    CreatePaymentIntentInput,
    InvoiceOutput,
    PaymentIntentOutput,
    PaymentMethodOutput,
    SubscriptionOutput,
)
from billing.services import holds, payment_methods, subscriptions, unused_holds
from callmeback.api import MessageOutput, PublicApiView, parse_input
from callmeback.errors import NotFound, ValidationFailed
from callmeback.pagination import PageRequest, paginate


class BillingInfoApi(APIView):
    rate_limits = {"GET": ratelimits.BILLING_INFO}

    @extend_schema(responses={200: BillingOutput})
    def get(self, request):
        customer = selectors.customer_for_user(user=request.user)
        body = {
            "payment_methods": selectors.payment_methods_for_user(user=request.user),
            "balance": pricing.cents_to_dollars(customer.balance if customer else 0),
            "currency": stripe_config().currency,
        }
        return Response(BillingOutput(body).data)


class PaymentMethodAddApi(APIView):
    rate_limits = {"POST": ratelimits.CARD_ADD}
    error_codes = {"POST": [PaymentDeclined, StripeServiceError]}

    @extend_schema(request=AddPaymentMethodInput, responses={201: AddPaymentMethodOutput})
    def post(self, request):
        method = payment_methods.payment_method_add(user=request.user, **parse_input(AddPaymentMethodInput, request))
        return Response({"payment_method": PaymentMethodOutput(method).data}, status=status.HTTP_201_CREATED)


class PaymentMethodRemoveApi(APIView):
    rate_limits = {"DELETE": ratelimits.CARD_REMOVE}
    error_codes = {"DELETE": [CannotRemoveDefault, StripeServiceError]}

    @extend_schema(responses={200: MessageOutput})
    def delete(self, request, payment_method_id: str):
        payment_methods.payment_method_remove(user=request.user, payment_method_id=payment_method_id)
        return Response({"message": "Payment method removed"})


class PaymentMethodDefaultApi(APIView):
    rate_limits = {"PUT": ratelimits.CARD_DEFAULT}
    error_codes = {"PUT": [StripeServiceError]}

    @extend_schema(request=None, responses={200: MessageOutput})
    def put(self, request, payment_method_id: str):
        payment_methods.payment_method_set_default(user=request.user, payment_method_id=payment_method_id)
        return Response({"message": "Default payment method updated"})


class CreatePaymentIntentApi(APIView):
    rate_limits = {"POST": ratelimits.PAYMENT_INTENT_CREATE}
    error_codes = {"POST": [NoPaymentMethod, PaymentDeclined, StripeServiceError]}

    @extend_schema(request=CreatePaymentIntentInput, responses={200: PaymentIntentOutput})
    def post(self, request):
        created = holds.authorization_create(user=request.user, **parse_input(CreatePaymentIntentInput, request))
        authorization = created.authorization
        body = {
            "payment_intent_id": authorization.payment_intent_id,
            "client_secret": created.client_secret,
            "amount": authorization.amount_authorized,
            "currency": authorization.currency,
        }
        return Response(PaymentIntentOutput(body).data)


class CancelPaymentIntentApi(APIView):
    """Releases a hold its owner will not use (a call they decided not to place), at once
    rather than when the sweeper finds it unused. A hold a call or booking took is refused."""

    rate_limits = {"POST": ratelimits.PAYMENT_INTENT_CANCEL}
    error_codes = {"POST": [NotFound, ValidationFailed, StripeServiceError]}

    @extend_schema(request=CancelPaymentIntentInput, responses={200: CanceledPaymentIntentOutput})
    def post(self, request):
        hold = unused_holds.authorization_cancel(user=request.user, **parse_input(CancelPaymentIntentInput, request))
        body = {"payment_intent_id": hold.payment_intent_id, "status": hold.status, "message": "Hold released"}
        return Response(CanceledPaymentIntentOutput(body).data)


class StripeWebhookApi(PublicApiView):
    """Authenticated by the `Stripe-Signature` over the raw body; no rate limit (`000_*` §9)."""

    error_codes = {"POST": [InvalidWebhookSignature, ServiceUnavailable]}

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "StripeWebhookOutput", {"received": serializers.BooleanField(), "duplicate": serializers.BooleanField()}
            )
        },
    )
    def post(self, request):
        _, duplicate = webhooks.stripe_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
        return Response({"received": True, "duplicate": duplicate})


class SubscriptionApi(APIView):
    rate_limits = {"GET": ratelimits.SUBSCRIPTION}

    @extend_schema(responses={200: SubscriptionOutput})
    def get(self, request):
        subscription = selectors.subscription_current(user=request.user)
        return Response(SubscriptionOutput.shape(plan=request.user.plan, subscription=subscription))


class SubscriptionCheckoutApi(APIView):
    rate_limits = {"POST": ratelimits.CHECKOUT}
    error_codes = {"POST": [AlreadySubscribed, ServiceUnavailable, StripeServiceError]}

    @extend_schema(request=CheckoutInput, responses={200: CheckoutOutput})
    def post(self, request):
        url = subscriptions.subscription_checkout_start(user=request.user, **parse_input(CheckoutInput, request))
        return Response({"checkout_url": url})


class SubscriptionCancelApi(APIView):
    rate_limits = {"POST": ratelimits.CANCEL_SUBSCRIPTION}
    error_codes = {"POST": [NotFound, StripeServiceError]}

    @extend_schema(request=CancelInput, responses={200: CancelOutput})
    def post(self, request):
        subscription = subscriptions.subscription_cancel(user=request.user, **parse_input(CancelInput, request))
        body = {"message": "Subscription will end at the end of the billing period", "ends_at": subscription.ends_at}
        return Response(CancelOutput(body).data)


class InvoicesApi(APIView):
    rate_limits = {"GET": ratelimits.INVOICES}

    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("limit", int, description="1 to 100, default 20")],
        responses={
            200: inline_serializer(
                "InvoicesOutput",
                {
                    "invoices": InvoiceOutput(many=True),
                    "pagination": serializers.DictField(child=serializers.IntegerField()),
                },
            )
        },
    )
    def get(self, request):
        page = paginate(selectors.invoices_for_user(user=request.user), PageRequest.from_query(request.query_params))
        return Response({"invoices": InvoiceOutput(page.items, many=True).data, "pagination": page.pagination()})
