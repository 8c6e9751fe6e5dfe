"""Read queries for billing: what a user may see, and the admin's revenue figures."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth

from accounts.models import User
from billing.models import (
    AuthorizationSettlement,
    Invoice,
    PaymentAuthorization,
    PaymentMethod,
    StripeCustomer,
    Subscription,
)


def customer_for_user(*, user: User) -> StripeCustomer | None:
    return StripeCustomer.objects.filter(user=user).first()


def payment_methods_for_user(*, user: User) -> QuerySet[PaymentMethod]:
    """The user's cards on file, default first, then newest."""
    return PaymentMethod.objects.filter(user=user, detached_at__isnull=True).order_by("-is_default", "-created_at")


def payment_method_for_user(*, user: User, payment_method_id: str) -> PaymentMethod | None:
    """One of the user's cards by its `pm_...` id; another user's card is simply not found."""
    return payment_methods_for_user(user=user).filter(stripe_id=payment_method_id).first()


def default_payment_method(*, user: User) -> PaymentMethod | None:
    return payment_methods_for_user(user=user).filter(is_default=True).first()


def authorization_for_user(
    *, user: User, payment_intent_id: str, for_update: bool = False
) -> PaymentAuthorization | None:
    """The person's hold with this intent id; `for_update` locks its row until the transaction ends."""
    authorizations = PaymentAuthorization.objects.filter(user=user, payment_intent_id=payment_intent_id)
    return (authorizations.select_for_update() if for_update else authorizations).first()


def authorization_by_id(*, authorization_id: str) -> PaymentAuthorization | None:
    return PaymentAuthorization.objects.filter(pk=authorization_id).first()


def authorizations_recent(*, user: User, limit: int = 10) -> list[PaymentAuthorization]:
    """The user's latest holds, with what was captured, for the billing page."""
    return list(PaymentAuthorization.objects.filter(user=user).order_by("-created_at")[:limit])


def settlements_of_authorization(*, authorization_id: object) -> QuerySet[AuthorizationSettlement]:
    """What was captured or released on a hold (one row at most), oldest first."""
    return AuthorizationSettlement.objects.filter(authorization_id=authorization_id).order_by("created_at")


def authorizations_in_flight(*, updated_before: datetime) -> QuerySet[PaymentAuthorization]:
    """Holds claimed for capture or release whose Stripe call never reported back."""
    return PaymentAuthorization.objects.filter(
        status__in=PaymentAuthorization.IN_FLIGHT, updated_at__lt=updated_before
    ).order_by("updated_at")


def authorizations_creating(*, started_before: datetime) -> QuerySet[PaymentAuthorization]:
    """Holds whose creation was recorded but whose Stripe answer never was, since before then."""
    stale = Q(stripe_call_started_at__lt=started_before) | Q(
        stripe_call_started_at__isnull=True, created_at__lt=started_before
    )
    return PaymentAuthorization.objects.filter(stale, status=PaymentAuthorization.Status.CREATING).order_by(
        "created_at"
    )


def authorizations_unattached(*, created_before: datetime) -> QuerySet[PaymentAuthorization]:
    """Holds still on the card that no call and no booking took, created before then."""
    return (
        PaymentAuthorization.objects.filter(
            status__in=(PaymentAuthorization.Status.REQUIRES_CAPTURE, PaymentAuthorization.Status.REQUIRES_ACTION),
            call_id__isnull=True,
            created_at__lt=created_before,
        )
        .exclude(reserved_for=PaymentAuthorization.ReservedFor.BOOKING)
        .order_by("created_at")
    )


def subscription_current(*, user: User) -> Subscription | None:
    """The subscription that decides the plan: a live one if any, else the latest."""
    subscriptions = Subscription.objects.filter(user=user)
    return (
        subscriptions.filter(status__in=Subscription.PREMIUM_STATUSES).order_by("-created_at").first()
        or subscriptions.order_by("-created_at").first()
    )


def invoices_for_user(*, user: User) -> QuerySet[Invoice]:
    return Invoice.objects.filter(user=user).order_by("-issued_at")


@dataclass(frozen=True)
class RevenueRow:
    period: date
    captures: int
    amount: int  # cents


def revenue_by_period(*, period: Literal["day", "month"], since: datetime) -> list[RevenueRow]:
    """Money captured for calls per day or month (UTC), newest first."""
    trunc = TruncDay if period == "day" else TruncMonth
    rows = (
        AuthorizationSettlement.objects.filter(kind=AuthorizationSettlement.Kind.CAPTURE, created_at__gte=since)
        .annotate(period=trunc("created_at"))
        .values("period")
        .annotate(captures=Count("id"), amount=Sum("amount"))
        .order_by("-period")
    )
    return [RevenueRow(period=row["period"].date(), captures=row["captures"], amount=row["amount"]) for row in rows]
