"""POST /api/call (`000_*` §2.2): validate, check the hold, create the call, dial through Twilio."""

from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest
from django.db import connections
from django.utils import timezone

from accounts.models import VerifiedPhoneNumber
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from billing.services import payment_methods
from callmeback.errors import ValidationFailed
from calls.models import Call, CallerIdNumber
from calls.scheduling import services as scheduling_services
from calls.scheduling.models import ScheduledCall
from calls.services import placing
from personas.models import Persona
from tests.calls.conftest import PHONE, SITE_URL, call_body
from tests.conftest import client_for
from tests.personas.factories import PersonaFactory, ScenarioTemplateFactory
from tests.races import run_together
from tests.scheduling.helpers import book

Status = PaymentAuthorization.Status


def _place(client, persona, hold, **overrides):
    return client.post("/api/call", call_body(persona, hold, **overrides), format="json")


def _error(response) -> str:
    return response.json()["error"]


def test_placing_a_call_answers_the_spec_shape(caller_client, persona, hold):
    response = _place(caller_client, persona, hold)

    assert response.status_code == 200
    body = response.json()["call"]
    call = Call.objects.get()
    assert body == {
        "id": str(call.pk),
        "sid": call.sid,
        "status": "initiated",
        "persona_id": str(persona.pk),
        "phone_number": PHONE,
        "created_at": body["created_at"],
        "estimated_cost": 2.25,
    }
    assert call.sid.startswith("CA")


def test_the_dial_asks_twilio_for_the_answer_url_callbacks_and_time_limit(caller_client, persona, hold, twilio):
    _place(caller_client, persona, hold)

    call = Call.objects.get()
    dialled = twilio.calls[call.sid]
    assert dialled.to == PHONE
    assert dialled.from_ == twilio.caller_id
    assert dialled.url == f"{SITE_URL}/api/voice/answer?call={call.pk}"
    assert dialled.status_callback == f"{SITE_URL}/api/twilio/callback?call={call.pk}"
    assert dialled.status_callback_events == ["initiated", "ringing", "answered", "completed"]
    assert dialled.time_limit == 300 == call.authorized_seconds
    assert dialled.machine_detection == ""
    assert dialled.record is False


def test_a_person_who_turned_recording_on_is_recorded_on_both_channels(caller, persona, hold, twilio):
    caller.record_calls = True
    caller.save(update_fields=["record_calls"])

    _place(client_for(caller), persona, hold)

    call = Call.objects.get()
    dialled = twilio.calls[call.sid]
    assert dialled.record is True
    assert dialled.recording_channels == "dual"
    assert dialled.recording_status_callback == f"{SITE_URL}/webhooks/twilio/recording-status?call={call.pk}"


def test_placing_a_call_attaches_the_hold_and_counts_one_use_of_the_persona(
    caller_client, persona, hold, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the request's commit
        _place(caller_client, persona, hold)

    call = Call.objects.get()
    assert PaymentAuthorization.objects.get(pk=hold.pk).call_id == call.pk
    assert call.authorization_id == hold.pk
    assert Persona.objects.get(pk=persona.pk).use_count == 1


def test_calls_go_out_from_the_caller_id_pool_in_turn(place, twilio):
    first = CallerIdNumber.objects.create(phone_number="+14155550001")
    second = CallerIdNumber.objects.create(phone_number="+14155550002")
    for number in (first, second):
        twilio.own_number(number.phone_number)

    calls = []
    for _ in range(3):
        call = place()
        calls.append(call.caller_id)
        Call.objects.filter(pk=call.pk).update(status=Call.Status.COMPLETED)

    assert calls == [first.phone_number, second.phone_number, first.phone_number]


def test_a_scenario_and_a_sanitised_pretext_are_kept_on_the_call(caller_client, persona, hold):
    scenario = ScenarioTemplateFactory(is_public=True)

    response = _place(
        caller_client,
        persona,
        hold,
        scenario_template_id=str(scenario.pk),
        call_pretext="<b>Remind</b> me about the dentist<script>alert(1)</script>",
    )

    assert response.status_code == 200
    call = Call.objects.get()
    assert call.scenario_template_id == scenario.pk
    assert call.call_pretext == "Remind me about the dentist"


# --- every error code ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone, message",
    [("12345", "E.164"), ("+15550000001", "not a valid phone number"), ("+33142685300", "not available")],
)
def test_a_bad_or_foreign_number_is_a_validation_error(caller_client, persona, hold, phone, message):
    response = _place(caller_client, persona, hold, phone_number=phone)

    assert response.status_code == 400
    assert _error(response) == "VALIDATION_ERROR"
    assert message in response.json()["details"]["phone_number"][0]
    assert not Call.objects.exists()


def test_an_unknown_persona_is_a_validation_error(caller_client, persona, hold):
    response = _place(caller_client, persona, hold, persona_id="00000000-0000-0000-0000-000000000000")

    assert (response.status_code, _error(response)) == (400, "VALIDATION_ERROR")
    assert "persona_id" in response.json()["details"]


def test_someone_elses_private_persona_is_a_validation_error(caller_client, persona, hold):
    private = PersonaFactory(is_public=False)

    response = _place(caller_client, persona, hold, persona_id=str(private.pk))

    assert (response.status_code, _error(response)) == (400, "VALIDATION_ERROR")


def test_someone_elses_private_scenario_is_a_validation_error(caller_client, persona, hold):
    private = ScenarioTemplateFactory(is_public=False)

    response = _place(caller_client, persona, hold, scenario_template_id=str(private.pk))

    assert (response.status_code, _error(response)) == (400, "VALIDATION_ERROR")
    assert "scenario_template_id" in response.json()["details"]


def test_a_pretext_over_1000_characters_is_a_validation_error(caller_client, persona, hold):
    response = _place(caller_client, persona, hold, call_pretext="x" * 1001)

    assert (response.status_code, _error(response)) == (400, "VALIDATION_ERROR")
    assert "call_pretext" in response.json()["details"]


def test_a_call_without_a_payment_is_payment_required(caller_client, persona, hold):
    response = _place(caller_client, persona, hold, payment_intent_id="")

    assert (response.status_code, _error(response)) == (402, "PAYMENT_REQUIRED")


def test_an_unknown_payment_intent_is_a_validation_error(caller_client, persona, hold):
    response = _place(caller_client, persona, hold, payment_intent_id="pi_unknown")

    assert (response.status_code, _error(response)) == (400, "VALIDATION_ERROR")


def test_a_declined_authentication_is_payment_failed(caller, caller_client, persona, make_card, localstripe):
    payment_methods.payment_method_add(
        user=caller, payment_method_id=make_card("4000002500003155"), set_as_default=True
    )
    hold = billing_holds.authorization_create(user=caller, estimated_duration=5).authorization
    localstripe.authenticate(hold.payment_intent_id, success=False)

    response = _place(caller_client, persona, hold)

    assert (response.status_code, _error(response)) == (402, "PAYMENT_FAILED")
    assert not Call.objects.exists()


def test_a_number_not_verified_is_refused_with_403(caller, caller_client, persona, hold):
    VerifiedPhoneNumber.objects.filter(user=caller).delete()
    caller.phone_verified = False
    caller.save(update_fields=["phone_verified"])

    response = _place(caller_client, persona, hold)

    assert (response.status_code, _error(response)) == (403, "PHONE_NOT_VERIFIED")
    assert not Call.objects.exists()


def test_a_second_number_is_callable_once_verified(caller, caller_client, persona, hold):
    VerifiedPhoneNumber.objects.create(user=caller, phone_number="+12025550143")

    response = _place(caller_client, persona, hold, phone_number="+1 (202) 555-0143")

    assert response.status_code == 200
    assert Call.objects.get().phone_number == "+12025550143"


def test_a_second_call_while_one_is_active_is_concurrent_calls(caller, caller_client, persona, hold, place):
    place()

    response = _place(caller_client, persona, hold)

    assert (response.status_code, _error(response)) == (429, "CONCURRENT_CALLS")
    assert Call.objects.count() == 1
    assert PaymentAuthorization.objects.get(pk=hold.pk).call_id is None


def test_a_spent_hold_cannot_pay_for_another_call(caller_client, persona, hold):
    _place(caller_client, persona, hold)
    Call.objects.update(status=Call.Status.COMPLETED)

    response = _place(caller_client, persona, hold)

    assert (response.status_code, _error(response)) == (400, "VALIDATION_ERROR")
    assert "already been used" in response.json()["message"]


def test_a_hold_reserved_by_a_booking_cannot_pay_for_a_call_now(caller, caller_client, persona):
    booking = book(caller, persona)

    response = _place(caller_client, persona, booking.authorization)

    assert (response.status_code, _error(response)) == (400, "VALIDATION_ERROR")
    assert response.json()["details"] == {
        "payment_intent_id": ["This payment authorisation is reserved for a scheduled call."]
    }
    assert not Call.objects.exists()
    assert PaymentAuthorization.objects.get(pk=booking.authorization_id).call_id is None


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="needs PostgreSQL's row locks for a real race"
)
@pytest.mark.django_db(transaction=True)
def test_a_call_and_a_booking_racing_for_one_hold_leave_one_of_them(caller, persona, twilio):
    hold = billing_holds.authorization_create(user=caller, estimated_duration=5).authorization
    outcomes: list[str] = []
    common = {"user": caller, "phone_number": PHONE, "persona_id": persona.pk}
    common["payment_intent_id"] = hold.payment_intent_id

    def try_to_take(take: Callable[[], object]) -> None:
        try:
            take()
            outcomes.append("taken")
        except ValidationFailed:
            outcomes.append("refused")

    run_together(
        partial(try_to_take, lambda: placing.call_place(**common)),
        partial(
            try_to_take,
            lambda: scheduling_services.booking_create(**common, scheduled_time=timezone.now() + timedelta(hours=1)),
        ),
    )

    assert sorted(outcomes) == ["refused", "taken"]
    taken_by = [*Call.objects.filter(authorization=hold), *ScheduledCall.objects.filter(authorization=hold)]
    assert len(taken_by) == 1


def test_twilio_refusing_the_dial_fails_the_call_and_releases_the_hold(caller_client, persona, hold, twilio):
    twilio.fail_next("POST", r"/Calls\.json$", status=400, code=21211, message="Invalid 'To' Phone Number")

    response = _place(caller_client, persona, hold)

    assert (response.status_code, _error(response)) == (500, "TWILIO_ERROR")
    call = Call.objects.get()
    assert call.status == Call.Status.FAILED
    assert "Invalid 'To' Phone Number" in call.error_message
    assert PaymentAuthorization.objects.get(pk=hold.pk).status == Status.CANCELED


def test_twilio_unreachable_at_dial_fails_the_call_and_releases_the_hold(settings, caller_client, persona, hold):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"

    response = _place(caller_client, persona, hold)

    assert (response.status_code, _error(response)) == (500, "TWILIO_ERROR")
    assert "Traceback" not in response.content.decode()
    assert Call.objects.get().status == Call.Status.FAILED
    assert PaymentAuthorization.objects.get(pk=hold.pk).status == Status.CANCELED


def test_after_a_failed_dial_the_person_may_call_again(caller_client, persona, hold, twilio, place):
    twilio.fail_next("POST", r"/Calls\.json$", status=400, code=21211, message="Invalid 'To' Phone Number")
    _place(caller_client, persona, hold)

    assert place().status == Call.Status.INITIATED


def test_placing_a_call_needs_authentication(api_client, persona, hold):
    response = _place(api_client, persona, hold)

    assert (response.status_code, _error(response)) == (401, "UNAUTHORIZED")


def test_placing_calls_is_limited_to_five_a_minute(caller_client, persona, hold):
    statuses = [_place(caller_client, persona, hold, phone_number="bad").status_code for _ in range(6)]

    assert statuses == [400] * 5 + [429]


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="needs PostgreSQL's row locks for a real race"
)
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_calls_for_one_person_leave_one_call(caller, persona, place):
    holds = [billing_holds.authorization_create(user=caller, estimated_duration=5).authorization for _ in range(2)]
    outcomes: list[str] = []

    def try_to_create(hold) -> None:
        try:
            placing.call_create(user=caller, phone_number=PHONE, persona=persona, authorization=hold)
            outcomes.append("created")
        except placing.ConcurrentCalls:
            outcomes.append("refused")

    run_together(*(partial(try_to_create, hold) for hold in holds))

    assert sorted(outcomes) == ["created", "refused"]
    assert Call.objects.filter(user=caller).count() == 1
