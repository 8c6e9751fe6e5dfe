"""Dashboard pages for calls: "Call now", the history, one call, and usage. The same
services and selectors as the API, rendered as HTML; a live call's status is pushed to
its page over a websocket (calls.consumers)."""

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts import views as account_views
from accounts.forms import PhoneCodeCheckForm, PhoneCodeSendForm
from billing import pricing
from billing import selectors as billing_selectors
from callmeback.dashboard import add_service_error
from callmeback.errors import ApplicationError, NotFound, ValidationFailed
from callmeback.pagination import PageRequest
from callmeback.ratelimit import enforce_rate_limit
from calls import ratelimits, selectors
from calls.forms import CallNowForm, FeedbackForm
from calls.models import Call
from calls.serializers import CallDetailOutput
from calls.services import ending, placing, recordings
from calls.services.feedback import call_feedback_save
from personas import selectors as persona_selectors

PAGE_SIZE = 20
CHOICES_SHOWN = 100
DEFAULT_USAGE_MONTHS = 6
USAGE_MONTH_CHOICES = (3, 6, 12, 24)
SORT_LABELS = {
    "date_desc": "Newest first",
    "date_asc": "Oldest first",
    "cost_desc": "Most expensive first",
    "cost_asc": "Cheapest first",
}


def _owned_call(request, call_id, *, detail: bool = False) -> Call:
    try:
        if detail:
            return selectors.call_detail(user=request.user, call_id=call_id)
        return selectors.call_get_owned(user=request.user, call_id=call_id)
    except NotFound:
        raise Http404("Call not found.") from None


def _whole_number(raw: object) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


# --- Call now -------------------------------------------------------------------------------------


def _same_choices_url(form: CallNowForm) -> str:
    """Call now again with what the person chose, for the page to come back to after the
    phone's verification: verifying must not reset the persona, scenario or length."""
    choices = {name: form[name].value() for name in ("persona", "scenario", "minutes")}
    return f"{reverse('calls:new')}?{urlencode({k: v for k, v in choices.items() if v})}"


def _to_live_call(request):
    """A repeated "Call me now" (a resubmitted form, a second tab) lands on the live call."""
    live = selectors.call_active(user=request.user)
    messages.info(request, "You are already in this call." if live else "Your call is being placed.")
    return redirect("calls:detail", call_id=live.pk) if live else redirect("calls:list")


def _call_now_form(request) -> CallNowForm:
    contacts = [contact.persona for contact in persona_selectors.contact_list(user=request.user)]
    in_contacts = {persona.pk for persona in contacts}
    catalogue = persona_selectors.persona_list(viewer=request.user, filters=persona_selectors.PersonaFilters())
    scenarios = persona_selectors.scenario_template_list(viewer=request.user)
    initial = {
        "persona": request.GET.get("persona", ""),
        "scenario": request.GET.get("scenario", ""),
        "phone_number": request.session.get(account_views.PHONE_BEING_VERIFIED) or request.user.phone,
    }
    if _whole_number(request.GET.get("minutes")) is not None:
        initial["minutes"] = request.GET["minutes"]
    return CallNowForm(
        request.POST or None,
        initial=initial,
        contacts=contacts,
        catalogue=[p for p in catalogue[:CHOICES_SHOWN] if p.pk not in in_contacts],
        scenarios=list(scenarios[:CHOICES_SHOWN]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def call_new_view(request):
    form = _call_now_form(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            enforce_rate_limit(request, ratelimits.PLACE_CALL)
            call = placing.call_place_on_default_card(
                user=request.user,
                phone_number=data["phone_number"],
                persona_id=data["persona"],
                estimated_minutes=data["minutes"],
                scenario_template_id=data["scenario"] or None,
            )
        except placing.ConcurrentCalls:
            return _to_live_call(request)
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            request.session.pop(account_views.PHONE_BEING_VERIFIED, None)
            messages.success(request, f"Calling …{call.phone_number[-4:]}: pick up when it rings.")
            return redirect("calls:detail", call_id=call.pk)
    phone = (form["phone_number"].value() or "").strip()
    verified = bool(phone) and account_selectors.phone_is_verified(user=request.user, phone=phone)
    estimates = {
        minutes: pricing.cents_to_dollars(pricing.estimate_cents(minutes))
        for minutes in range(pricing.MIN_ESTIMATE_MINUTES, pricing.MAX_ESTIMATE_MINUTES + 1)
    }
    context = {
        "form": form,
        "estimates": estimates,
        "estimate": estimates.get(_whole_number(form["minutes"].value())),
        "card": billing_selectors.default_payment_method(user=request.user),
        "phone": phone,
        "phone_verified": verified,
        "send_form": PhoneCodeSendForm(initial={"phone": phone}),
        "check_form": PhoneCodeCheckForm(initial={"phone": phone}),
        "code_sent": not verified and phone and request.session.get(account_views.PHONE_BEING_VERIFIED) == phone,
        "back_after_verifying": _same_choices_url(form),
    }
    return render(request, "calls/call_new.html", context)


# --- History and detail ------------------------------------------------------------------------------


@login_required
def call_list_view(request):
    try:
        filters = selectors.CallFilters.from_query(request.GET)
        page_request = PageRequest.from_query(request.GET, default_limit=PAGE_SIZE)
    except ValidationFailed as error:
        messages.error(request, error.message)
        filters, page_request = selectors.CallFilters(), PageRequest(page=1, limit=PAGE_SIZE)
    page = selectors.call_page(user=request.user, filters=filters, page=page_request)
    rows = [
        {**row, "cost": None if row["cost_cents"] is None else pricing.cents_to_dollars(row["cost_cents"])}
        for row in page.items
    ]
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "query": request.GET,
        "statuses": Call.Status.choices,
        "sorts": SORT_LABELS,
    }
    return render(request, "calls/call_list.html", context)


@login_required
def call_detail_view(request, call_id):
    call = _owned_call(request, call_id, detail=True)
    detail = CallDetailOutput(call).data
    feedback = detail["feedback"]
    recording_url = recordings.recording_link(call=call)[0] if detail["recording"]["available"] else None
    context = {
        "call": call,
        "detail": detail,
        "recording_url": recording_url,
        "feedback_form": FeedbackForm(initial=feedback or {"rating": 5}),
    }
    return render(request, "calls/call_detail.html", context)


@login_required
@require_POST
def call_end_view(request, call_id):
    call = _owned_call(request, call_id)
    try:
        enforce_rate_limit(request, ratelimits.END_CALL)
        ending.call_end(call=call)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Hanging up.")
    return redirect("calls:detail", call_id=call.pk)


@login_required
@require_POST
def call_feedback_view(request, call_id):
    call = _owned_call(request, call_id)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a rating from 1 to 5.")
        return redirect("calls:detail", call_id=call.pk)
    try:
        enforce_rate_limit(request, ratelimits.FEEDBACK)
        call_feedback_save(call=call, **form.cleaned_data)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Thanks for your feedback.")
    return redirect("calls:detail", call_id=call.pk)


# --- Usage ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One month of the usage chart, in SVG units (y grows downwards)."""

    x: int
    y: int
    height: int
    month: date
    calls: int
    minutes: int
    cost: float

    @property
    def middle(self) -> int:
        return self.x + BAR_WIDTH // 2


CHART_HEIGHT = 160
BAR_WIDTH = 36
BAR_GAP = 14


def usage_bars(usage: selectors.Usage) -> list[Bar]:
    """Minutes per month as bars scaled to the busiest month (the chart is drawn server-side)."""
    busiest = max((month.figures.minutes for month in usage.months), default=0) or 1
    bars = []
    for index, month in enumerate(usage.months):
        height = round(CHART_HEIGHT * month.figures.minutes / busiest)
        bars.append(
            Bar(
                x=index * (BAR_WIDTH + BAR_GAP),
                y=CHART_HEIGHT - height,
                height=height,
                month=month.month,
                calls=month.figures.calls,
                minutes=month.figures.minutes,
                cost=pricing.cents_to_dollars(month.figures.cents),
            )
        )
    return bars


@login_required
def usage_view(request):
    try:
        months = selectors.usage_months_from_query(request.GET, default=DEFAULT_USAGE_MONTHS)
    except ValidationFailed as error:
        messages.error(request, error.message)
        months = DEFAULT_USAGE_MONTHS
    usage = selectors.user_usage(user=request.user, months=months)
    bars = usage_bars(usage)
    context = {
        "usage": usage,
        "months": months,
        "bars": bars,
        "total_cost": pricing.cents_to_dollars(usage.total.cents),
        "month_choices": USAGE_MONTH_CHOICES,
        "chart_width": len(bars) * (BAR_WIDTH + BAR_GAP),
        "chart_height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
    }
    return render(request, "calls/usage.html", context)
