"""Billing in Django admin: read-only money records, the release action, the revenue summary."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import AuthorizationSettlement, PaymentAuthorization
from billing.services import holds as billing_holds


@pytest.fixture
def admin_client(user_factory) -> Client:
    client = Client()
    client.force_login(user_factory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "model", ["stripecustomer", "paymentmethod", "paymentauthorization", "stripeevent", "subscription", "invoice"]
)
def test_admin_lists_every_billing_record(admin_client, authorization, model):
    assert admin_client.get(f"/admin/billing/{model}/").status_code == 200


def test_authorization_page_shows_its_capture(admin_client, authorization):
    billing_holds.authorization_capture(authorization=authorization, seconds=330)

    page = admin_client.get(f"/admin/billing/paymentauthorization/{authorization.pk}/change/").content.decode()

    assert "Capture" in page and "$2.45" in page


def test_money_records_cannot_be_edited_in_admin(admin_client, authorization):
    response = admin_client.post(
        f"/admin/billing/paymentauthorization/{authorization.pk}/change/", {"amount_captured": 1}
    )

    assert response.status_code == 403
    assert PaymentAuthorization.objects.get(pk=authorization.pk).amount_captured == 0


def test_release_action_releases_selected_holds(admin_client, authorization):
    admin_client.post(
        "/admin/billing/paymentauthorization/",
        {"action": "release_holds", "_selected_action": [str(authorization.pk)]},
    )

    assert PaymentAuthorization.objects.get(pk=authorization.pk).status == PaymentAuthorization.Status.CANCELED


def test_revenue_summary_sums_captures_per_day_and_month(admin_client, card_user):
    for seconds in (330, 60):
        held = billing_holds.authorization_create(user=card_user, estimated_duration=10).authorization
        billing_holds.authorization_capture(authorization=held, seconds=seconds)
    older = billing_holds.authorization_create(user=card_user, estimated_duration=10).authorization
    billing_holds.authorization_capture(authorization=older, seconds=300)
    AuthorizationSettlement.objects.filter(authorization=older).update(created_at=timezone.now() - timedelta(days=40))

    daily = admin_client.get("/admin/billing/revenuesummary/").content.decode()
    monthly = admin_client.get("/admin/billing/revenuesummary/?period=month").content.decode()

    today = timezone.now().strftime("%Y-%m-%d")
    assert f"<tr><td>{today}</td><td>2</td><td>$3.10</td></tr>" in daily
    assert "$2.25" not in daily  # 40 days ago is outside the daily view
    assert "<th>Total</th><th></th><th>$5.35</th>" in monthly
