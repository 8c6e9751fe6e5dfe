"""Billing in Django admin: customers, cards, holds with their capture or release, webhook
events, subscriptions, invoices and a revenue summary. Money records are read-only here:
they change only through the services, which talk to Stripe."""

from datetime import timedelta

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from billing import selectors
from billing.errors import StripeServiceError
from billing.models import (
    AuthorizationSettlement,
    Invoice,
    PaymentAuthorization,
    PaymentMethod,
    RevenueSummary,
    StripeCustomer,
    StripeEvent,
    Subscription,
)
from billing.pricing import cents_to_dollars
from billing.services import holds


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _dollars(cents: int) -> str:
    return f"${cents_to_dollars(cents):,.2f}"


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ["customer_id", "user", "created_at"]
    search_fields = ["customer_id", "user__email"]
    list_select_related = ["user"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "user", "brand", "last4", "exp_month", "exp_year", "is_default", "detached_at"]
    list_filter = ["brand", "is_default", ("detached_at", admin.EmptyFieldListFilter)]
    search_fields = ["stripe_id", "user__email", "last4"]
    list_select_related = ["user"]


class SettlementInline(admin.TabularInline):
    model = AuthorizationSettlement
    fields = ["kind", "amount_dollars", "source", "created_at"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0

    @admin.display(description="Amount")
    def amount_dollars(self, settlement: AuthorizationSettlement) -> str:
        return _dollars(settlement.amount)


@admin.register(PaymentAuthorization)
class PaymentAuthorizationAdmin(ReadOnlyAdmin):
    list_display = [
        "payment_intent_id",
        "user",
        "status",
        "authorized",
        "captured",
        "call_type",
        "reserved_for",
        "call_id",
        "expires_at",
        "created_at",
    ]
    list_filter = ["status", "call_type", "reserved_for", "off_session"]
    search_fields = ["payment_intent_id", "user__email", "call_id"]
    list_select_related = ["user"]
    inlines = [SettlementInline]
    actions = ["release_holds"]

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("billing.change_paymentauthorization")

    @admin.display(description="Authorised")
    def authorized(self, authorization: PaymentAuthorization) -> str:
        return _dollars(authorization.amount_authorized)

    @admin.display(description="Captured")
    def captured(self, authorization: PaymentAuthorization) -> str:
        return _dollars(authorization.amount_captured)

    @admin.action(description="Release the selected holds (nothing is captured)", permissions=["release"])
    def release_holds(self, request, queryset):
        released = 0
        for authorization in queryset.exclude(status__in=PaymentAuthorization.SETTLED):
            try:
                holds.authorization_release(authorization=authorization)
                released += 1
            except StripeServiceError as error:
                self.message_user(request, f"{authorization}: {error.message}", messages.ERROR)
        self.message_user(request, f"Released {released} hold(s).", messages.SUCCESS)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at", "attempts"]
    list_filter = ["type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "type"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["stripe_subscription_id", "user", "status", "interval", "current_period_end", "ends_at"]
    list_filter = ["status", "interval", "cancel_at_period_end"]
    search_fields = ["stripe_subscription_id", "user__email"]
    list_select_related = ["user"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["stripe_invoice_id", "number", "user", "status", "due", "issued_at"]
    list_filter = ["status"]
    search_fields = ["stripe_invoice_id", "number", "user__email"]
    list_select_related = ["user"]

    @admin.display(description="Amount due")
    def due(self, invoice: Invoice) -> str:
        return _dollars(invoice.amount_due)


@admin.register(RevenueSummary)
class RevenueSummaryAdmin(ReadOnlyAdmin):
    """Money captured for calls, per day (last 31 days) or per month (last 12 months)."""

    change_list_template = "billing/admin/revenue_summary.html"
    PERIODS = {"day": timedelta(days=31), "month": timedelta(days=366)}

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("billing.view_authorizationsettlement")

    def changelist_view(self, request, extra_context=None):
        period = request.GET.get("period", "day")
        if period not in self.PERIODS:
            period = "day"
        rows = selectors.revenue_by_period(period=period, since=timezone.now() - self.PERIODS[period])
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "opts": self.model._meta,
            "title": "Revenue summary",
            "period": period,
            "rows": [{"period": row.period, "captures": row.captures, "amount": _dollars(row.amount)} for row in rows],
            "total": _dollars(sum(row.amount for row in rows)),
        }
        return TemplateResponse(request, self.change_list_template, context)
