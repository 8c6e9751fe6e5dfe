"""Calls in Django admin: calls (active now, hang up, what each cost us provider by
provider), the caller-ID pool (search and buy numbers at Twilio), and a daily page of calls,
minutes, revenue and what the providers cost.

Call records are read-only here: they change through the services. Hanging up is the
app's own hang-up (a live call hears the persona's goodbye first, then Twilio ends it);
Twilio's callback then finishes the call and settles its hold."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from billing import selectors as billing_selectors
from billing.pricing import cents_to_dollars
from callmeback import twilio
from callmeback.errors import ApplicationError
from callmeback.logging import mask_phone
from calls import gateways, selectors
from calls.models import Call, CallerIdNumber
from calls.services import caller_ids, ending

DAILY_PAGE_DAYS = 31


def _dollars(cents: int | None) -> str:
    return "—" if cents is None else f"${cents_to_dollars(cents):,.2f}"


def _provider_dollars(amount: Decimal | None, *, unknown: str = "unknown") -> str:
    """Provider costs run to fractions of a cent per call."""
    return unknown if amount is None else f"${amount:,.4f}"


class ActiveNowFilter(admin.SimpleListFilter):
    title = "active now"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "Active now"), ("no", "Finished")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=Call.ACTIVE)
        if self.value() == "no":
            return queryset.filter(status__in=Call.FINISHED)
        return queryset


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["persona_name", "user", "number", "status", "twilio_status", "duration", "cost", "created_at"]
    list_filter = [
        ActiveNowFilter,
        "status",
        ("created_at", admin.DateFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["sid", "user__email", "persona_name"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    actions = ["hang_up"]
    change_list_template = "calls/admin/call_change_list.html"
    readonly_fields = ["hold", "settlements", "provider_costs"]
    fieldsets = [
        (None, {"fields": ["user", "persona", "persona_name", "scenario_template", "call_pretext"]}),
        (
            "Line",
            {
                "fields": [
                    "phone_number",
                    "caller_id",
                    "sid",
                    "status",
                    "twilio_status",
                    "live_stream_sid",
                    "ended_by",
                    "error_message",
                ]
            },
        ),
        ("Time", {"fields": ["created_at", "start_time", "end_time", "duration", "authorized_seconds"]}),
        (
            "Money",
            {"fields": ["cost_cents", "provider_cost", "provider_cost_unit", "hold", "settlements", "provider_costs"]},
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Call._meta.fields] + self.readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_hang_up_permission(self, request) -> bool:
        return request.user.has_perm("calls.change_call")

    @admin.display(description="Number")
    def number(self, call: Call) -> str:
        return mask_phone(call.phone_number)

    @admin.display(description="Cost", ordering="cost_cents")
    def cost(self, call: Call) -> str:
        return _dollars(call.cost_cents)

    @admin.display(description="Hold")
    def hold(self, call: Call) -> str:
        authorization = call.authorization
        if authorization is None:
            return "—"
        url = reverse("admin:billing_paymentauthorization_change", args=[authorization.pk])
        return format_html(
            '<a href="{}">{}</a>: {} held, {} captured ({})',
            url,
            authorization.payment_intent_id,
            _dollars(authorization.amount_authorized),
            _dollars(authorization.amount_captured),
            authorization.get_status_display(),
        )

    @admin.display(description="Settlement")
    def settlements(self, call: Call) -> str:
        if call.authorization_id is None:
            return "—"
        rows = billing_selectors.settlements_of_authorization(authorization_id=call.authorization_id)
        if not rows:
            return "Not settled yet."
        return format_html_join(
            "",
            "<div>{}: {} ({}, {})</div>",
            ((row.get_kind_display(), _dollars(row.amount), row.source, row.created_at) for row in rows),
        )

    @admin.display(description="Provider costs")
    def provider_costs(self, call: Call) -> str:
        """What the call cost us, provider by provider, beside what the person paid."""
        breakdown = cost_breakdown(call)
        total = _provider_dollars(breakdown.total)
        return format_html(
            '<table id="call-provider-costs"><thead><tr><th>Kind</th><th>Provider</th><th>Usage</th><th>Cost</th>'
            '</tr></thead><tbody>{}</tbody><tfoot><tr><th colspan="3">Total provider cost{}</th><td>{}</td></tr>'
            '<tr><th colspan="3">Revenue (what the person paid)</th><td>{}</td></tr></tfoot></table>',
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", breakdown.lines),
            "" if breakdown.complete else " (at least: some usage is unknown)",
            total,
            _dollars(call.cost_cents),
        )

    @admin.action(description="Hang up the selected calls", permissions=["hang_up"])
    def hang_up(self, request, queryset):
        ended = 0
        for call in queryset.filter(status__in=Call.ACTIVE):
            try:
                ending.call_end(call=call, ended_by=Call.EndedBy.ADMIN)
                ended += 1
            except ApplicationError as error:
                self.message_user(request, f"{call}: {error.message}", messages.ERROR)
        self.message_user(request, f"Hanging up {ended} call(s).", messages.SUCCESS)

    def get_urls(self):
        daily = self.admin_site.admin_view(self.daily_view)
        return [path("daily/", daily, name="calls_call_daily"), *super().get_urls()]

    def daily_view(self, request):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Calls per day",
            "rows": daily_summary(since=timezone.now().date() - timedelta(days=DAILY_PAGE_DAYS - 1)),
        }
        return TemplateResponse(request, "calls/admin/daily.html", context)


@dataclass(frozen=True)
class CostBreakdown:
    lines: list[tuple[str, str, str, str]]  # kind, provider, usage, cost
    total: Decimal
    complete: bool  # every part of the total is known


def cost_breakdown(call: Call) -> CostBreakdown:
    """Twilio's minutes and price (from its status callback) and the voice providers' usage
    (stored when the stream ended), with the total we paid for the call."""
    minutes = "—" if call.duration is None else f"{call.duration / 60:,.1f} minutes ({call.duration} s)"
    lines = [("Telephony", "twilio", minutes, _provider_dollars(call.provider_cost, unknown="not reported yet"))]
    costs = [call.provider_cost]
    complete = call.provider_cost is not None
    for usage in selectors.call_usage_rows(call=call):
        amount = "not reported" if usage.quantity is None else f"{usage.quantity.normalize():,f}"
        described = f"{amount} {usage.get_unit_display()}"
        if usage.unreported:
            described += f" (+ {usage.unreported} request(s) whose usage was never reported)"
        lines.append((usage.get_kind_display(), usage.provider, described, _provider_dollars(usage.cost)))
        costs.append(usage.cost)
        complete = complete and usage.cost is not None and not usage.unreported
    return CostBreakdown(
        lines=lines, total=sum((cost for cost in costs if cost is not None), Decimal(0)), complete=complete
    )


@dataclass(frozen=True)
class DayRow:
    day: date
    calls: int
    completed: int
    minutes: int
    revenue: str
    twilio_cost: str
    voice_cost: str
    total_cost: str


def daily_summary(*, since: date) -> list[DayRow]:
    """The per-day figures of `calls_per_day`, as the daily page shows them."""
    return [
        DayRow(
            day=day.day,
            calls=day.calls,
            completed=day.completed,
            minutes=(day.seconds + 30) // 60,
            revenue=_dollars(day.revenue_cents),
            twilio_cost=f"${day.twilio_cost:,.2f}",
            voice_cost=f"${day.voice_cost:,.2f}",
            total_cost=f"${day.twilio_cost + day.voice_cost:,.2f}",
        )
        for day in selectors.calls_per_day(since=since)
    ]


class NumberSearchForm(forms.Form):
    country = forms.ChoiceField(choices=[("US", "United States"), ("CA", "Canada"), ("GB", "United Kingdom")])
    area_code = forms.CharField(required=False, max_length=3, help_text="Optional, e.g. 415 (US and Canada).")


@admin.register(CallerIdNumber)
class CallerIdNumberAdmin(admin.ModelAdmin):
    """The pool calls go out from, least recently used first. With Twilio configured, numbers
    can be searched and bought here ("Buy numbers")."""

    list_display = ["phone_number", "friendly_name", "is_active", "last_used_at", "twilio_sid"]
    list_filter = ["is_active"]
    list_editable = ["is_active"]
    search_fields = ["phone_number", "friendly_name"]
    readonly_fields = ["twilio_sid", "last_used_at", "created_at"]
    change_list_template = "calls/admin/caller_id_change_list.html"

    def get_urls(self):
        buy = self.admin_site.admin_view(self.buy_view)
        return [path("buy/", buy, name="calls_calleridnumber_buy"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {"twilio_configured": twilio.configured(), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def buy_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:calls_calleridnumber_changelist")
        if request.method == "POST":
            try:
                number = caller_ids.caller_id_number_buy(phone_number=request.POST.get("phone_number", ""))
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, f"Bought {number.phone_number}; it is in the pool now.", messages.SUCCESS)
                return redirect("admin:calls_calleridnumber_changelist")
        form = NumberSearchForm(request.GET or None)
        offered: list[gateways.NumberData] = []
        if form.is_valid():
            try:
                offered = gateways.twilio_numbers_available(
                    country=form.cleaned_data["country"], area_code=form.cleaned_data["area_code"]
                )
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Buy caller ID numbers",
            "form": form,
            "offered": offered,
            "searched": form.is_bound,
        }
        return TemplateResponse(request, "calls/admin/buy_numbers.html", context)
