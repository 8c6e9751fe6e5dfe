"""The booked-call API (`000_*` §2.3-2.5): booking, listing, reading and cancelling, with
every validation and error code."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import VerifiedPhoneNumber
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from billing.services import payment_methods
from calls.scheduling.models import ScheduledCall
from tests.billing.conftest import front  # noqa: F401  (fixture)
from tests.calls.conftest import PHONE, call_body
from tests.conftest import client_for
from tests.personas.factories import PersonaFactory
from tests.scheduling.helpers import book, schedule_body

Status = ScheduledCall.Status


def _schedule(client, persona, hold, **overrides):
    return client.post("/api/calls/schedule", schedule_body(persona, hold, **overrides), format="json")


def _error(response) -> str:
    return response.json()["error"]


def test_booking_answers_201_in_the_spec_shape(caller, caller_client, persona, hold):
    response = _schedule(caller_client, persona, hold, minutes_ahead=90)

    assert response.status_code == 201
    body = response.json()["scheduled_call"]
    booking = ScheduledCall.objects.get()
    assert {key: body[key] for key in ("id", "user_id", "persona_id", "phone_number", "status")} == {
        "id": str(booking.pk),
        "user_id": str(caller.pk),
        "persona_id": str(persona.pk),
        "phone_number": PHONE,
        "status": "scheduled",
    }
    assert body["estimated_cost"] == 2.25
    assert body["scheduled_time"].endswith("Z")
    assert booking.authorization == hold


def test_a_time_with_another_offset_is_stored_as_the_same_instant(caller_client, persona, hold):
    when = (timezone.now() + timedelta(hours=2)).astimezone(timezone.get_fixed_timezone(-300)).replace(microsecond=0)

    response = _schedule(caller_client, persona, hold, scheduled_time=when.isoformat())

    assert response.status_code == 201
    assert ScheduledCall.objects.get().scheduled_time == when


@pytest.mark.parametrize(
    "scheduled_time",
    ["2030-01-02T15:00:00", "tomorrow at seven", "2030-13-45T15:00:00Z", ""],
    ids=["no-offset", "not-iso", "impossible-date", "empty"],
)
def test_a_time_that_is_not_iso_8601_with_an_offset_is_a_validation_error(caller_client, persona, hold, scheduled_time):
    response = _schedule(caller_client, persona, hold, scheduled_time=scheduled_time)

    assert response.status_code == 400
    assert _error(response) == "VALIDATION_ERROR"
    assert "scheduled_time" in response.json()["details"]
    assert not ScheduledCall.objects.exists()


@pytest.mark.parametrize("minutes_ahead", [4, -10, 30 * 24 * 60 + 5], ids=["too-soon", "past", "beyond-30-days"])
def test_a_time_outside_the_booking_window_is_a_validation_error(caller_client, persona, hold, minutes_ahead):
    response = _schedule(caller_client, persona, hold, minutes_ahead=minutes_ahead)

    assert response.status_code == 400
    assert response.json()["details"].keys() == {"scheduled_time"}


def test_the_booking_window_follows_its_settings(settings, caller_client, persona, hold):
    settings.SCHEDULE_MIN_LEAD = timedelta(minutes=30)

    response = _schedule(caller_client, persona, hold, minutes_ahead=20)

    assert response.status_code == 400
    assert "30 minutes" in response.json()["message"]


def test_an_unknown_or_private_persona_is_a_validation_error(caller_client, hold, user_factory):
    private = PersonaFactory(owner=user_factory(), is_public=False)

    response = _schedule(caller_client, private, hold)

    assert response.status_code == 400
    assert response.json()["details"].keys() == {"persona_id"}


def test_an_unverified_number_is_refused_with_403(caller_client, persona, hold):
    response = _schedule(caller_client, persona, hold, phone_number="+14155550199")

    assert response.status_code == 403
    assert _error(response) == "PHONE_NOT_VERIFIED"


def test_a_number_outside_the_allowed_countries_is_a_validation_error(caller, caller_client, persona, hold):
    VerifiedPhoneNumber.objects.create(user=caller, phone_number="+33612345678")

    response = _schedule(caller_client, persona, hold, phone_number="+33612345678")

    assert response.status_code == 400
    assert response.json()["details"].keys() == {"phone_number"}


def test_booking_without_a_payment_intent_is_payment_required(caller_client, persona, hold):
    response = _schedule(caller_client, persona, hold, payment_intent_id="")

    assert response.status_code == 402
    assert _error(response) == "PAYMENT_REQUIRED"


def test_a_hold_the_card_refused_is_payment_failed(caller_client, persona, hold):
    PaymentAuthorization.objects.filter(pk=hold.pk).update(status=PaymentAuthorization.Status.FAILED)

    response = _schedule(caller_client, persona, hold)

    assert response.status_code == 402
    assert _error(response) == "PAYMENT_FAILED"


def test_another_users_hold_cannot_pay_for_a_booking(caller_client, persona, card_user, user_factory, make_card):
    other = user_factory()
    payment_methods.payment_method_add(user=other, payment_method_id=make_card(), set_as_default=True)
    theirs = billing_holds.authorization_create(user=other, estimated_duration=5).authorization

    response = _schedule(caller_client, persona, theirs)

    assert response.status_code == 400
    assert response.json()["details"].keys() == {"payment_intent_id"}


def test_one_hold_pays_for_one_booking(caller_client, persona, hold):
    assert _schedule(caller_client, persona, hold).status_code == 201

    response = _schedule(caller_client, persona, hold, minutes_ahead=120)

    assert response.status_code == 400
    assert ScheduledCall.objects.count() == 1


def test_a_hold_already_spent_on_a_call_cannot_pay_for_a_booking(caller_client, persona, hold, twilio):
    assert caller_client.post("/api/call", call_body(persona, hold), format="json").status_code == 200

    response = _schedule(caller_client, persona, hold)

    assert (response.status_code, _error(response)) == (400, "VALIDATION_ERROR")
    assert response.json()["details"] == {"payment_intent_id": ["This payment authorisation has already been used."]}
    assert not ScheduledCall.objects.exists()


def test_a_hold_ending_before_the_call_is_accepted_and_kept_for_re_authorisation(caller_client, persona, hold):
    response = _schedule(caller_client, persona, hold, minutes_ahead=20 * 24 * 60)

    assert response.status_code == 201
    booking = ScheduledCall.objects.get()
    assert booking.authorization.expires_at < booking.scheduled_time
    assert booking.off_session_consent_at is not None


def test_the_fifty_first_active_booking_is_refused_with_max_scheduled(settings, caller, caller_client, persona):
    settings.SCHEDULE_MAX_ACTIVE = 2
    first = book(caller, persona, minutes_ahead=30)
    book(caller, persona, minutes_ahead=40)
    hold = billing_holds.authorization_create(user=caller, estimated_duration=5).authorization

    response = _schedule(caller_client, persona, hold)

    assert response.status_code == 429
    assert _error(response) == "MAX_SCHEDULED"
    assert 0 < response.json()["retry_after"] <= (first.scheduled_time - timezone.now()).total_seconds() + 1


def test_cancelled_bookings_do_not_count_towards_the_limit(settings, caller, caller_client, persona):
    settings.SCHEDULE_MAX_ACTIVE = 1
    ScheduledCall.objects.filter(pk=book(caller, persona).pk).update(status=Status.CANCELLED)
    hold = billing_holds.authorization_create(user=caller, estimated_duration=5).authorization

    assert _schedule(caller_client, persona, hold).status_code == 201


def test_booking_is_limited_to_ten_an_hour(caller_client, persona, hold):
    statuses = [_schedule(caller_client, persona, hold, minutes_ahead=1).status_code for _ in range(11)]

    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429


def test_booking_needs_authentication(api_client, persona, hold):
    response = _schedule(api_client, persona, hold)

    assert response.status_code == 401


# --- Listing and reading ------------------------------------------------------------------------


def test_the_list_shows_only_ones_own_bookings_with_persona_names_in_time_order(caller, caller_client, persona):
    late = book(caller, persona, minutes_ahead=120)
    early = book(caller, persona, minutes_ahead=30)
    stranger = client_for(PersonaFactory().owner)

    body = caller_client.get("/api/calls/scheduled").json()["scheduled_calls"]

    assert [row["id"] for row in body] == [str(early.pk), str(late.pk)]
    assert body[0]["persona_name"] == "Best Friend"
    assert stranger.get("/api/calls/scheduled").json() == {"scheduled_calls": []}


def test_the_list_sorts_newest_time_first_on_request(caller, caller_client, persona):
    early, late = book(caller, persona, minutes_ahead=30), book(caller, persona, minutes_ahead=90)

    body = caller_client.get("/api/calls/scheduled?sort=time_desc").json()["scheduled_calls"]

    assert [row["id"] for row in body] == [str(late.pk), str(early.pk)]


def test_the_list_filters_by_status(caller, caller_client, persona):
    kept, dropped = book(caller, persona, minutes_ahead=30), book(caller, persona, minutes_ahead=90)
    ScheduledCall.objects.filter(pk=dropped.pk).update(status=Status.CANCELLED)

    scheduled = caller_client.get("/api/calls/scheduled?status=scheduled").json()["scheduled_calls"]
    cancelled = caller_client.get("/api/calls/scheduled?status=cancelled").json()["scheduled_calls"]

    assert [row["id"] for row in scheduled] == [str(kept.pk)]
    assert [row["id"] for row in cancelled] == [str(dropped.pk)]


@pytest.mark.parametrize("query", ["status=someday", "sort=alphabetical"])
def test_unknown_list_parameters_are_a_validation_error(caller_client, query):
    response = caller_client.get(f"/api/calls/scheduled?{query}")

    assert response.status_code == 400
    assert _error(response) == "VALIDATION_ERROR"


def test_reading_a_booking_shows_it_to_its_owner(caller, caller_client, persona):
    booking = book(caller, persona)

    response = caller_client.get(f"/api/calls/schedule/{booking.pk}")

    assert response.status_code == 200
    assert response.json()["scheduled_call"]["id"] == str(booking.pk)


def test_reading_another_persons_booking_is_forbidden(caller, persona, user_factory):
    booking = book(caller, persona)

    response = client_for(user_factory()).get(f"/api/calls/schedule/{booking.pk}")

    assert response.status_code == 403
    assert _error(response) == "FORBIDDEN"


@pytest.mark.parametrize("booking_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_reading_an_unknown_booking_is_not_found(caller_client, booking_id):
    response = caller_client.get(f"/api/calls/schedule/{booking_id}")

    assert response.status_code == 404
    assert _error(response) == "NOT_FOUND"


# --- Cancelling ------------------------------------------------------------------------------------


def test_cancelling_releases_the_hold_and_answers_the_spec_shape(caller, caller_client, persona, localstripe):
    booking = book(caller, persona, estimated_duration=10)

    response = caller_client.delete(f"/api/calls/schedule/{booking.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "message": "Scheduled call cancelled successfully",
        "refund": {"amount": 4.25, "status": "released", "refund_id": booking.authorization.payment_intent_id},
    }
    booking.refresh_from_db()
    assert booking.status == Status.CANCELLED
    assert booking.authorization.status == PaymentAuthorization.Status.CANCELED
    assert localstripe.get(f"/v1/payment_intents/{booking.authorization.payment_intent_id}")["status"] == "canceled"


def test_cancelling_within_five_minutes_of_the_time_is_denied(caller, caller_client, persona):
    booking = book(caller, persona)
    ScheduledCall.objects.filter(pk=booking.pk).update(scheduled_time=timezone.now() + timedelta(minutes=4))

    response = caller_client.delete(f"/api/calls/schedule/{booking.pk}")

    assert response.status_code == 400
    assert _error(response) == "CANCELLATION_DENIED"
    booking.refresh_from_db()
    assert booking.status == Status.SCHEDULED
    assert booking.authorization.status == PaymentAuthorization.Status.REQUIRES_CAPTURE


def test_cancelling_twice_is_denied_the_second_time(caller, caller_client, persona):
    booking = book(caller, persona)
    caller_client.delete(f"/api/calls/schedule/{booking.pk}")

    response = caller_client.delete(f"/api/calls/schedule/{booking.pk}")

    assert response.status_code == 400
    assert _error(response) == "CANCELLATION_DENIED"


def test_cancelling_another_persons_booking_is_forbidden_and_changes_nothing(caller, persona, user_factory):
    booking = book(caller, persona)

    response = client_for(user_factory()).delete(f"/api/calls/schedule/{booking.pk}")

    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.status == Status.SCHEDULED


def test_cancelling_an_unknown_booking_is_not_found(caller_client):
    response = caller_client.delete("/api/calls/schedule/00000000-0000-0000-0000-000000000000")

    assert response.status_code == 404


def test_stripe_refusing_the_release_is_refund_failed_and_the_booking_stays_cancelled(
    caller,
    caller_client,
    persona,
    front,  # noqa: F811
):
    booking = book(caller, persona)
    path = f"/v1/payment_intents/{booking.authorization.payment_intent_id}/cancel"
    front.script_error("POST", path, status=500, error={"type": "api_error", "message": "down"}, times=5)

    response = caller_client.delete(f"/api/calls/schedule/{booking.pk}")

    assert response.status_code == 500
    assert _error(response) == "REFUND_FAILED"
    booking.refresh_from_db()
    assert booking.status == Status.CANCELLED
    assert booking.authorization.status == PaymentAuthorization.Status.RELEASING


# --- Persona deletion and the profile time zone ------------------------------------------------------


def test_a_persona_with_an_active_booking_cannot_be_deleted(caller, persona):
    own = PersonaFactory(owner=caller, is_public=False)
    book(caller, own)

    response = client_for(caller).delete(f"/api/personas/{own.pk}")

    assert response.status_code == 409
    assert _error(response) == "PERSONA_IN_USE"


def test_a_persona_with_a_running_series_cannot_be_deleted(caller, caller_client):
    own = PersonaFactory(owner=caller, is_public=False)
    series = {"persona_id": str(own.pk), "phone_number": PHONE, "local_time": "07:00", "weekdays": [1]}
    caller_client.post("/api/calls/series", series | {"timezone": "UTC", "off_session_consent": True}, format="json")

    response = caller_client.delete(f"/api/personas/{own.pk}")

    assert response.status_code == 409
    assert _error(response) == "PERSONA_IN_USE"


def test_a_persona_whose_bookings_are_over_can_be_deleted(caller):
    own = PersonaFactory(owner=caller, is_public=False)
    ScheduledCall.objects.filter(pk=book(caller, own).pk).update(status=Status.CANCELLED)

    response = client_for(caller).delete(f"/api/personas/{own.pk}")

    assert response.status_code == 200


def test_the_profile_takes_an_iana_time_zone(caller, caller_client):
    response = caller_client.put("/api/user/profile", {"timezone": "America/New_York"}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["timezone"] == "America/New_York"
    caller.refresh_from_db()
    assert caller.timezone == "America/New_York"


def test_the_profile_refuses_an_unknown_time_zone(caller_client):
    response = caller_client.put("/api/user/profile", {"timezone": "Mars/Olympus"}, format="json")

    assert response.status_code == 400
    assert response.json()["details"].keys() == {"timezone"}
