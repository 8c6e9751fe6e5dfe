"""Bookings and series made while their models lived in the calls app survive the move to the
scheduling app: same tables, same rows, found through the new models, and the holds they
hold marked reserved for them in billing."""

from datetime import UTC, date, datetime, time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing.models import PaymentAuthorization
from calls.scheduling.models import CallSeries, ScheduledCall
from tests.factories import UserFactory
from tests.personas.factories import PersonaFactory

# The last migrations before the move: bookings in calls, holds without `reserved_for`.
BEFORE_THE_MOVE = [("calls", "0004_call_live_stream_sid"), ("billing", "0002_authorization_stripe_call_started_at")]
PHONE = "+14155550123"
WHEN = datetime(2030, 1, 2, 15, 0, tzinfo=UTC)


def _migrate(targets=None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _old_models():
    return MigrationExecutor(connection).loader.project_state(BEFORE_THE_MOVE).apps


def _old_hold(old, user, payment_intent_id: str):
    return old.get_model("billing", "PaymentAuthorization").objects.create(
        user_id=user.pk,
        payment_intent_id=payment_intent_id,
        payment_method_id="pm_old",
        currency="usd",
        amount_authorized=225,
        estimated_duration=5,
        call_type="scheduled",
        status="requires_capture",
        expires_at=WHEN,
    )


@pytest.mark.django_db(transaction=True)
def test_bookings_and_series_made_in_calls_are_found_through_the_scheduling_app():
    _migrate(BEFORE_THE_MOVE)
    user = UserFactory(phone=PHONE)
    persona = PersonaFactory(owner=user, name="Old Friend")
    old = _old_models()
    booked_hold = _old_hold(old, user, "pi_booked")
    free_hold = _old_hold(old, user, "pi_free")
    series = old.get_model("calls", "CallSeries").objects.create(
        user_id=user.pk,
        persona_id=persona.pk,
        call_pretext="Wake me up",
        phone_number=PHONE,
        local_time=time(7, 30),
        weekdays=[1, 3, 5],
        timezone="Europe/London",
        end_date=date(2030, 6, 30),
        max_calls=10,
        estimated_duration=5,
        calls_booked=1,
        starts_on=date(2030, 1, 1),
        off_session_consent_at=WHEN,
    )
    booking = old.get_model("calls", "ScheduledCall").objects.create(
        user_id=user.pk,
        persona_id=persona.pk,
        persona_name="Old Friend",
        call_pretext="Wake me up",
        phone_number=PHONE,
        scheduled_time=WHEN,
        series_id=series.pk,
        authorization_id=booked_hold.pk,
        estimated_duration=5,
        off_session_consent_at=WHEN,
    )
    # The admin's permissions hang on the content types the old layout made.
    ContentType.objects.filter(app_label="scheduling").delete()
    old_type = ContentType.objects.get_or_create(app_label="calls", model="scheduledcall")[0]

    _migrate()
    ContentType.objects.clear_cache()

    moved = ScheduledCall.objects.get(pk=booking.pk)
    assert (moved.user, moved.persona, moved.persona_name, moved.call_pretext, moved.phone_number) == (
        user,
        persona,
        "Old Friend",
        "Wake me up",
        PHONE,
    )
    assert (moved.scheduled_time, moved.status, moved.series_id, moved.authorization_id) == (
        WHEN,
        ScheduledCall.Status.SCHEDULED,
        series.pk,
        booked_hold.pk,
    )
    moved_series = CallSeries.objects.get(pk=series.pk)
    assert (moved_series.user, moved_series.persona, moved_series.local_time, moved_series.weekdays) == (
        user,
        persona,
        time(7, 30),
        [1, 3, 5],
    )
    assert (moved_series.timezone, moved_series.end_date, moved_series.max_calls, moved_series.calls_booked) == (
        "Europe/London",
        date(2030, 6, 30),
        10,
        1,
    )
    assert list(moved_series.bookings.all()) == [moved]
    assert list(user.scheduled_calls.all()) == [moved]
    assert list(persona.call_series.all()) == [moved_series]
    assert PaymentAuthorization.objects.get(pk=booked_hold.pk).reserved_for == "booking"
    assert PaymentAuthorization.objects.get(pk=free_hold.pk).reserved_for == ""
    assert ContentType.objects.get_for_model(ScheduledCall).pk == old_type.pk


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "calls", "scheduling", "billing", "--check", "--dry-run", verbosity=0)
