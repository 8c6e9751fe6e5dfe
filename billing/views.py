"""The billing page: cards (added with Stripe Elements, so card numbers never reach us),
plan, invoices and recent charges. The same services as the API, rendered as HTML.

The card form is the one part driven by JavaScript: Stripe.js saves the card through a
SetupIntent, then the page sends us only the resulting `pm_...` id (`card_add_view`).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from billing import ratelimits, selectors
from billing.conf import PREMIUM_INTERVALS, stripe_config
from billing.forms import AddCardForm, CancelSubscriptionForm, CheckoutForm
from billing.serializers import PaymentMethodOutput
from billing.services import payment_methods, subscriptions
from callmeback.dashboard import error_message, run_action
from callmeback.errors import ApplicationError, error_response
from callmeback.ratelimit import enforce_rate_limit
from personas.services import PERSONA_LIMITS

_CHECKOUT_MESSAGES = {
    "success": (messages.SUCCESS, "Thanks! Your premium plan starts as soon as Stripe confirms the payment."),
    "canceled": (messages.INFO, "Checkout cancelled; nothing was charged."),
}


@login_required
@require_GET
def billing_view(request):
    user = request.user
    outcome = _CHECKOUT_MESSAGES.get(request.GET.get("checkout", ""))
    if outcome:
        messages.add_message(request, *outcome)
        return redirect("billing:index")
    config = stripe_config()
    context = {
        "payment_methods": selectors.payment_methods_for_user(user=user),
        "subscription": selectors.subscription_current(user=user),
        "invoices": selectors.invoices_for_user(user=user)[:12],
        "charges": selectors.authorizations_recent(user=user),
        "premium_intervals": [interval for interval in PREMIUM_INTERVALS if config.premium_price(interval)],
        "stripe_js_url": config.js_url,
        "stripe_publishable_key": config.publishable_key,
        "cancel_form": CancelSubscriptionForm(),
        "persona_limits": PERSONA_LIMITS,
    }
    return render(request, "billing/index.html", context)


def _json_error(error: ApplicationError) -> JsonResponse:
    return error_response(error.code, error_message(error), error.status_code, error.details, error.retry_after)


@login_required
@require_POST
def card_setup_view(request):
    """A SetupIntent client secret for Stripe.js (JSON, session + CSRF)."""
    try:
        enforce_rate_limit(request, ratelimits.CARD_SETUP)
        client_secret = payment_methods.setup_intent_create(user=request.user)
    except ApplicationError as error:
        return _json_error(error)
    return JsonResponse({"client_secret": client_secret})


@login_required
@require_POST
def card_add_view(request):
    """Records the card Stripe.js just saved (JSON, session + CSRF)."""
    form = AddCardForm(request.POST)
    if not form.is_valid():
        details = {field: list(messages) for field, messages in form.errors.items()}
        return error_response("VALIDATION_ERROR", "Invalid payment method.", 400, details)
    try:
        enforce_rate_limit(request, ratelimits.CARD_ADD)
        method = payment_methods.payment_method_add(user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        return _json_error(error)
    messages.success(request, f"Card ending in {method.last4} added.")
    return JsonResponse({"payment_method": PaymentMethodOutput(method).data}, status=201)


@login_required
@require_POST
def card_default_view(request, payment_method_id: str):
    run_action(
        request,
        lambda: payment_methods.payment_method_set_default(user=request.user, payment_method_id=payment_method_id),
        "Default card updated.",
        limit=ratelimits.CARD_DEFAULT,
    )
    return redirect("billing:index")


@login_required
@require_POST
def card_remove_view(request, payment_method_id: str):
    run_action(
        request,
        lambda: payment_methods.payment_method_remove(user=request.user, payment_method_id=payment_method_id),
        "Card removed.",
        limit=ratelimits.CARD_REMOVE,
    )
    return redirect("billing:index")


@login_required
@require_POST
def checkout_view(request):
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose monthly or yearly billing.")
        return redirect("billing:index")
    try:
        enforce_rate_limit(request, ratelimits.CHECKOUT)
        url = subscriptions.subscription_checkout_start(user=request.user, interval=form.cleaned_data["interval"])
    except ApplicationError as error:
        messages.error(request, error_message(error))
        return redirect("billing:index")
    return redirect(url)


@login_required
@require_POST
def cancel_subscription_view(request):
    form = CancelSubscriptionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    run_action(
        request,
        lambda: subscriptions.subscription_cancel(user=request.user, reason=reason),
        "Your premium plan will end at the end of the billing period.",
        limit=ratelimits.CANCEL_SUBSCRIPTION,
    )
    return redirect("billing:index")
