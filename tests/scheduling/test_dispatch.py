"""The dispatcher in-process: the sweeper's claims, placing a booking once, the checks at
send time, the late cut-off, reminders, re-authorisation of holds and the redial of a call
whose worker died. Real PostgreSQL or SQLite, the local Twilio and localstripe; the
enqueued work runs where the test says."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.core import mail
from django.core.checks import run_checks
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import VerifiedPhoneNumber
from billing.models import PaymentAuthorization
from billing.services import holds as billing_holds
from billing.services import payment_methods
from callmeback.twilio import TwilioServiceError
from calls.models import Call
from calls.scheduling import dispatch, pacing, services, tasks
from calls.scheduling.checks import CLAIM_TIMEOUT_TOO_SHORT
from calls.scheduling.models import ScheduledCall
from calls.services import placing
from tests.billing.conftest import front, row_lock_free  # noqa: F401  (fixture)
from tests.calls.conftest import PHONE
from tests.races import run_together
from tests.scheduling.helpers import Collected, book, make_due

Status = ScheduledCall.Status
Hold = PaymentAuthorization.Status


@pytest.fixture(autouse=True)
def _after_commit_runs(request, django_capture_on_commit_callbacks):
    """Releases and messages wait for the commit; inside a test's transaction, run them as
    soon as they are queued."""
    if "transactional_db" in request.fixturenames or request.node.get_closest_marker("django_db") is not None:
        yield
        return
    with django_capture_on_commit_callbacks(execute=True):
        yield


def _sweep(**kwargs) -> Collected:
    collected = Collected()
    dispatch.bookings_claim_due(enqueue=collected, **kwargs)
    return collected


def _texts_to(twilio, number: str) -> list[str]:
    return [message.body for message in twilio.messages if message.to == number]


# --- Claiming -----------------------------------------------------------------------------------


def test_the_sweeper_claims_a_due_booking_and_leaves_future_ones(caller, persona):
    due = make_due(book(caller, persona))
    later = book(caller, persona, minutes_ahead=30)

    collected = _sweep()

    assert collected.dispatch == [due.pk]
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, due.dispatch_attempts) == (Status.DISPATCHING, 1)
    assert later.status == Status.SCHEDULED


def test_a_fresh_claim_is_not_claimed_again(caller, persona):
    make_due(book(caller, persona))
    _sweep()

    assert _sweep().dispatch == []


def test_a_claim_whose_worker_died_is_claimed_again_after_the_timeout(settings, caller, persona):
    booking = make_due(book(caller, persona))
    _sweep()

    collected = _sweep(now=timezone.now() + settings.SCHEDULE_CLAIM_TIMEOUT + timedelta(seconds=1))

    assert collected.dispatch == [booking.pk]
    booking.refresh_from_db()
    assert booking.dispatch_attempts == 2


def test_nothing_is_enqueued_when_nothing_is_due(caller, persona):
    book(caller, persona, minutes_ahead=30)

    assert _sweep().results == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and SKIP LOCKED need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_claim_each_booking_once(caller, persona):
    bookings = [make_due(book(caller, persona, minutes_ahead=10 + n)) for n in range(20)]
    claimed: list = []

    def sweep_once() -> None:
        claimed.extend(_sweep().dispatch)

    run_together(*[sweep_once] * 4)

    assert sorted(claimed) == sorted(booking.pk for booking in bookings)


# --- Placing -----------------------------------------------------------------------------------


def _claimed(caller, persona, **kwargs) -> ScheduledCall:
    booking = make_due(book(caller, persona, **kwargs))
    _sweep()
    booking.refresh_from_db()
    return booking


def test_placing_dials_the_booking_once_and_links_its_call(caller, persona, twilio):
    booking = _claimed(caller, persona)

    dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.PLACED
    call = booking.call
    assert (call.phone_number, call.persona_id, call.authorization_id) == (PHONE, persona.pk, booking.authorization_id)
    assert [(c.to, c.sid) for c in twilio.calls.values()] == [(PHONE, call.sid)]
    assert booking.lateness_ms is not None and booking.lateness_ms >= 0


def test_a_duplicate_placing_task_never_dials_twice(caller, persona, twilio):
    booking = _claimed(caller, persona)

    dispatch.booking_place(booking_id=booking.pk)
    dispatch.booking_place(booking_id=booking.pk)

    assert len(twilio.calls) == 1
    assert Call.objects.count() == 1


def test_a_booking_the_sweeper_has_not_claimed_is_not_placed(caller, persona, twilio):
    booking = make_due(book(caller, persona))

    dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.SCHEDULED
    assert twilio.calls == {}


def test_a_booking_found_past_the_late_cut_off_is_missed_released_and_told(
    settings, caller, persona, twilio, django_capture_on_commit_callbacks
):
    booking = _claimed(caller, persona)
    make_due(booking, seconds_ago=settings.SCHEDULE_LATE_CUTOFF.total_seconds() + 5)
    mail.outbox = []

    with django_capture_on_commit_callbacks(execute=True):
        dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.MISSED
    assert twilio.calls == {}
    assert booking.authorization.status == Hold.CANCELED
    assert any("could not be placed on time" in text for text in _texts_to(twilio, PHONE))
    assert [message.subject for message in mail.outbox] == ["Call Me Back: We missed your call"]


def test_a_booking_inside_the_late_cut_off_still_rings(settings, caller, persona, twilio):
    booking = _claimed(caller, persona)
    make_due(booking, seconds_ago=settings.SCHEDULE_LATE_CUTOFF.total_seconds() - 30)

    dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.PLACED
    assert len(twilio.calls) == 1


def test_a_number_no_longer_verified_at_send_time_fails_the_booking(
    caller, persona, twilio, django_capture_on_commit_callbacks
):
    booking = _claimed(caller, persona)
    VerifiedPhoneNumber.objects.filter(user=caller).delete()
    caller.phone_verified = False
    caller.save(update_fields=["phone_verified"])

    with django_capture_on_commit_callbacks(execute=True):
        dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert (booking.status, booking.failure_reason) == (Status.FAILED, "The phone number is no longer verified.")
    assert twilio.calls == {}
    assert booking.authorization.status == Hold.CANCELED
    assert any("no longer verified" in text for text in _texts_to(twilio, PHONE))


def test_a_persona_no_longer_visible_at_send_time_fails_the_booking(caller, persona, twilio, user_factory):
    booking = _claimed(caller, persona)
    persona.is_public = False
    persona.owner = user_factory()
    persona.save()

    dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert (booking.status, booking.failure_reason) == (Status.FAILED, "The persona is no longer available.")
    assert twilio.calls == {}


def test_a_hold_spent_elsewhere_before_send_time_fails_the_booking(caller, persona, twilio):
    booking = _claimed(caller, persona)
    billing_holds.authorization_release(authorization=booking.authorization)

    dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.FAILED
    assert twilio.calls == {}


def test_a_person_already_on_a_call_is_retried_not_failed(caller, persona, twilio, place):
    booking = _claimed(caller, persona)
    place()  # between the claim and the placing

    dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert (booking.status, booking.dispatch_claimed_at) == (Status.SCHEDULED, None)
    assert "another call" in booking.failure_reason
    assert len(twilio.calls) == 1


def test_a_due_booking_waits_while_its_person_is_on_a_call_and_the_next_sweep_after_takes_it(
    caller, persona, twilio, place
):
    call = place()
    booking = make_due(book(caller, persona))

    assert _sweep().dispatch == []

    twilio.advance(call.sid, "in-progress")
    twilio.advance(call.sid, "completed", duration=30)
    assert _sweep().dispatch == [booking.pk]


def test_twilio_refusing_the_dial_fails_the_call_releases_the_hold_and_tells_the_person(
    caller, persona, twilio, django_capture_on_commit_callbacks
):
    booking = _claimed(caller, persona)
    twilio.fail_next("POST", r"/Calls\.json$", status=400, code=21211, message="Invalid 'To' Phone Number")

    with django_capture_on_commit_callbacks(execute=True):
        dispatch.booking_place(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.PLACED
    assert booking.call.status == Call.Status.FAILED
    assert booking.authorization.status == Hold.CANCELED
    assert any("refused your call" in text for text in _texts_to(twilio, PHONE))


# --- Cancellation against dispatch ------------------------------------------------------------------


def test_a_claimed_booking_can_no_longer_be_cancelled(settings, caller, persona):
    settings.SCHEDULE_CANCEL_CUTOFF = timedelta(0)
    booking = book(caller, persona, minutes_ahead=30)
    _sweep(now=booking.scheduled_time)

    with pytest.raises(services.CancellationDenied):
        services.booking_cancel(booking_id=booking.pk, user=caller)


def test_a_cancelled_booking_is_never_claimed(settings, caller, persona):
    booking = book(caller, persona, minutes_ahead=30)
    services.booking_cancel(booking_id=booking.pk, user=caller)

    assert _sweep(now=booking.scheduled_time + timedelta(seconds=1)).dispatch == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and SKIP LOCKED need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_cancellation_racing_the_sweeper_ends_in_exactly_one_of_the_two(settings, caller, persona):
    settings.SCHEDULE_CANCEL_CUTOFF = timedelta(0)
    bookings = [book(caller, persona, minutes_ahead=30) for _ in range(10)]
    moment = max(booking.scheduled_time for booking in bookings)
    cancelled: list = []

    def cancel_all() -> None:
        for booking in bookings:
            try:
                services.booking_cancel(booking_id=booking.pk, user=caller)
                cancelled.append(booking.pk)
            except services.CancellationDenied:
                pass

    claimed: list = []

    def sweep_all() -> None:
        while len(claimed) + len(cancelled) < len(bookings):
            claimed.extend(_sweep(now=moment).dispatch)

    run_together(cancel_all, sweep_all, timeout=60)

    assert sorted(claimed + cancelled) == sorted(booking.pk for booking in bookings)
    statuses = dict(ScheduledCall.objects.values_list("pk", "status"))
    assert all(statuses[pk] == Status.CANCELLED for pk in cancelled)
    assert all(statuses[pk] == Status.DISPATCHING for pk in claimed)


# --- Reminders ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_reminder_is_texted_and_emailed_five_minutes_before_once(caller, persona, twilio):
    booking = book(caller, persona, minutes_ahead=30)
    ScheduledCall.objects.filter(pk=booking.pk).update(scheduled_time=timezone.now() + timedelta(minutes=4))
    mail.outbox = []

    collected = _sweep()
    for booking_id in collected.results[0].reminders:
        services.booking_remind(booking_id=booking_id)
        services.booking_remind(booking_id=booking_id)

    assert collected.results[0].reminders == [booking.pk]
    assert len([text for text in _texts_to(twilio, PHONE) if "Reminder" in text]) == 1
    assert [message.subject for message in mail.outbox] == ["Call Me Back: your call is coming up"]
    booking.refresh_from_db()
    assert booking.reminder_sms_sent_at and booking.reminder_email_sent_at
    assert _sweep().results == []


def _reminder_due(caller, persona) -> ScheduledCall:
    booking = book(caller, persona, minutes_ahead=30)
    ScheduledCall.objects.filter(pk=booking.pk).update(scheduled_time=timezone.now() + timedelta(minutes=4))
    mail.outbox = []
    return booking


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and NOWAIT need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_twilio_sends_the_reminder_text(caller, persona, twilio):
    booking = _reminder_due(caller, persona)
    lock_free_during_text: list[bool] = []
    twilio.probe(
        "POST",
        r"/Messages\.json$",
        lambda: lock_free_during_text.append(row_lock_free(ScheduledCall, pk=booking.pk)),
    )

    services.booking_remind(booking_id=booking.pk)

    assert lock_free_during_text == [True]
    assert len([text for text in _texts_to(twilio, PHONE) if "Reminder" in text]) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_reminders_for_one_booking_at_once_send_one_text_and_one_email(caller, persona, twilio):
    booking = _reminder_due(caller, persona)

    run_together(*[lambda: services.booking_remind(booking_id=booking.pk)] * 2, timeout=30)

    assert len([text for text in _texts_to(twilio, PHONE) if "Reminder" in text]) == 1
    assert [message.subject for message in mail.outbox] == ["Call Me Back: your call is coming up"]


@pytest.mark.django_db(transaction=True)
def test_a_reminder_claim_that_rolls_back_queues_no_email_and_stays_unclaimed(caller, persona, twilio):
    booking = _reminder_due(caller, persona)

    with pytest.raises(ConnectionError), transaction.atomic():
        services.booking_reminder_claim(booking_id=booking.pk)
        raise ConnectionError("the worker lost its database connection before the commit")

    assert mail.outbox == []
    booking.refresh_from_db()
    assert (booking.reminder_sms_sent_at, booking.reminder_email_sent_at) == (None, None)
    services.booking_remind(booking_id=booking.pk)
    assert [message.subject for message in mail.outbox] == ["Call Me Back: your call is coming up"]


def test_no_reminder_is_claimed_earlier_than_the_reminder_lead(caller, persona):
    book(caller, persona, minutes_ahead=6)

    assert _sweep().results == []


def test_a_failed_text_is_not_recorded_so_the_next_claim_sends_it(caller, persona, twilio):
    booking = book(caller, persona, minutes_ahead=30)
    ScheduledCall.objects.filter(pk=booking.pk).update(scheduled_time=timezone.now() + timedelta(minutes=4))
    twilio.fail_next("POST", r"/Messages\.json$")

    with pytest.raises(TwilioServiceError):
        services.booking_remind(booking_id=booking.pk)
    booking.refresh_from_db()
    assert booking.reminder_sms_sent_at is None

    services.booking_remind(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.reminder_sms_sent_at is not None


# --- Re-authorisation ------------------------------------------------------------------------------


def _expiring_booking(caller, persona) -> ScheduledCall:
    """A booking 50 minutes ahead whose hold ends before the call does."""
    booking = book(caller, persona, minutes_ahead=50)
    PaymentAuthorization.objects.filter(pk=booking.authorization_id).update(
        expires_at=booking.scheduled_time - timedelta(minutes=1)
    )
    return booking


def test_a_hold_ending_before_the_call_is_replaced_off_session_and_the_first_released(
    caller, persona, django_capture_on_commit_callbacks
):
    booking = _expiring_booking(caller, persona)
    first = booking.authorization

    collected = _sweep()
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_reauthorize(booking_id=collected.results[0].reauthorizations[0])

    booking.refresh_from_db()
    first.refresh_from_db()
    assert booking.status == Status.SCHEDULED
    assert booking.authorization != first
    assert booking.authorization.off_session and booking.authorization.status == Hold.REQUIRES_CAPTURE
    assert booking.authorization.expires_at > booking.scheduled_time
    assert first.status == Hold.CANCELED


def test_the_hold_a_re_authorisation_places_is_reserved_for_the_booking(caller, persona):
    booking = _expiring_booking(caller, persona)

    services.booking_reauthorize(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.authorization.reserved_for == PaymentAuthorization.ReservedFor.BOOKING


def test_a_hold_that_outlives_the_call_is_not_claimed_for_re_authorisation(caller, persona):
    book(caller, persona, minutes_ahead=50)

    assert _sweep().results == []


def test_re_authorising_twice_places_one_new_hold(caller, persona):
    booking = _expiring_booking(caller, persona)

    services.booking_reauthorize(booking_id=booking.pk)
    services.booking_reauthorize(booking_id=booking.pk)

    assert PaymentAuthorization.objects.filter(user=caller).count() == 2


def test_a_declined_re_authorisation_fails_the_booking_and_tells_the_person_at_once(
    caller,
    persona,
    front,  # noqa: F811
    twilio,
    django_capture_on_commit_callbacks,
):
    booking = _expiring_booking(caller, persona)
    decline = {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
    front.script_error("POST", "/v1/payment_intents", status=402, error=decline)
    mail.outbox = []

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_reauthorize(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.PAYMENT_FAILED
    assert booking.authorization.status == Hold.CANCELED
    assert any("could not hold the payment" in text for text in _texts_to(twilio, PHONE))
    assert [message.subject for message in mail.outbox] == ["Call Me Back: Your scheduled call needs a card"]
    assert "/calls/scheduled/" in mail.outbox[0].body
    assert _sweep(now=booking.scheduled_time).dispatch == []


def test_a_card_that_needs_authentication_is_handled_like_a_decline(caller, persona, make_card):
    booking = _expiring_booking(caller, persona)
    payment_methods.payment_method_add(
        user=caller, payment_method_id=make_card("4000002500003155"), set_as_default=True
    )

    services.booking_reauthorize(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.PAYMENT_FAILED
    assert "confirm" in booking.failure_reason


# --- A worker dying between creating the call and dialling it ------------------------------------------


def test_a_placed_call_never_dialled_is_dialled_once_by_the_next_claim(settings, caller, persona, twilio):
    booking = _claimed(caller, persona)
    _place_without_dialling(booking)
    later = timezone.now() + settings.SCHEDULE_CLAIM_TIMEOUT + timedelta(seconds=1)

    collected = _sweep(now=later)
    dispatch.booking_redial(booking_id=booking.pk)
    dispatch.booking_redial(booking_id=booking.pk)

    assert [booking_id for result in collected.results for booking_id in result.redial] == [booking.pk]
    booking.refresh_from_db()
    assert booking.call.sid
    assert [c.sid for c in twilio.calls.values()] == [booking.call.sid]


def test_a_placed_call_twilio_reported_on_is_not_claimed_for_redial(settings, caller, persona):
    booking = _claimed(caller, persona)
    call = _place_without_dialling(booking)
    Call.objects.filter(pk=call.pk).update(twilio_status="queued")
    later = timezone.now() + settings.SCHEDULE_CLAIM_TIMEOUT + timedelta(seconds=1)

    assert _sweep(now=later).results == []


def test_a_never_dialled_call_found_too_late_is_missed_and_released(settings, caller, persona, twilio):
    booking = _claimed(caller, persona)
    _place_without_dialling(booking)
    make_due(booking, seconds_ago=settings.SCHEDULE_LATE_CUTOFF.total_seconds() + 5)

    dispatch.booking_redial(booking_id=booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.MISSED
    assert booking.call.status == Call.Status.FAILED
    assert booking.authorization.status == Hold.CANCELED
    assert twilio.calls == {}


def _place_without_dialling(booking: ScheduledCall) -> Call:
    """The state a worker leaves when it dies after committing the call row, before dialling."""
    call = placing.call_create(
        user=booking.user,
        phone_number=booking.phone_number,
        persona=booking.persona,
        authorization=booking.authorization,
    )
    ScheduledCall.objects.filter(pk=booking.pk).update(
        call=call, status=Status.PLACED, placed_at=timezone.now(), dispatch_claimed_at=timezone.now()
    )
    return call


def test_support_can_dispatch_a_waiting_booking_now(caller, persona):
    booking = book(caller, persona, minutes_ahead=30)

    assert dispatch.booking_dispatch_now(booking=booking)

    assert _sweep().dispatch == [booking.pk]


def test_dispatch_now_leaves_a_cancelled_booking_alone(caller, persona):
    booking = book(caller, persona, minutes_ahead=30)
    services.booking_cancel(booking_id=booking.pk, user=caller)

    assert not dispatch.booking_dispatch_now(booking=booking)


def test_a_booking_whose_dial_got_no_answer_is_never_redialled(settings, caller, persona, twilio):
    booking = _claimed(caller, persona)
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    released = twilio.stall_next("POST", r"/Calls\.json$")
    try:
        dispatch.booking_place(booking_id=booking.pk)
    finally:
        released.set()
    booking.refresh_from_db()
    assert booking.call.dial_outcome_unknown
    later = timezone.now() + settings.SCHEDULE_CLAIM_TIMEOUT + timedelta(seconds=1)

    collected = _sweep(now=later)
    dispatch.booking_redial(booking_id=booking.pk)

    assert [booking_id for result in collected.results for booking_id in result.redial] == []
    assert len(twilio.calls) == 1
    assert PaymentAuthorization.objects.get(pk=booking.authorization_id).status == Hold.REQUIRES_CAPTURE


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and NOWAIT need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_a_redial_rings(caller, persona, twilio):
    booking = _claimed(caller, persona)
    call = _place_without_dialling(booking)
    locks_free: list[bool] = []
    twilio.probe(
        "POST",
        r"/Calls\.json$",
        lambda: locks_free.extend([row_lock_free(ScheduledCall, pk=booking.pk), row_lock_free(Call, pk=call.pk)]),
    )

    dispatch.booking_redial(booking_id=booking.pk)

    assert locks_free == [True, True]
    assert Call.objects.get(pk=call.pk).sid


def test_a_claim_timeout_shorter_than_the_twilio_requests_it_covers_is_refused(settings):
    settings.TWILIO_TIMEOUT_SECONDS = 15
    settings.SCHEDULE_CLAIM_TIMEOUT = timedelta(seconds=44)
    assert CLAIM_TIMEOUT_TOO_SHORT in [message.id for message in run_checks()]

    settings.SCHEDULE_CLAIM_TIMEOUT = timedelta(seconds=45)
    assert CLAIM_TIMEOUT_TOO_SHORT not in [message.id for message in run_checks()]


# --- Its own queue, and Twilio's calls-per-second limit ----------------------------------------


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("claim_due_bookings", "dispatch"),
        ("place_bookings", "dispatch"),
        ("redial_booking", "dispatch"),
        ("remind_booking", "dispatch"),
        ("reauthorize_booking", "celery"),
        ("book_series", "celery"),
    ],
)
def test_booked_calls_are_dispatched_on_a_queue_of_their_own(task, queue):
    from callmeback.celery import app

    assert app.amqp.router.route({}, f"calls.scheduling.tasks.{task}")["queue"].name == queue


def test_a_sweep_claims_no_more_bookings_than_dial_slots_free_and_spaces_them_by_the_limit(settings, caller, persona):
    settings.TWILIO_CALLS_PER_SECOND = 2
    settings.DISPATCH_PACING_HORIZON = timedelta(seconds=2)
    bookings = [make_due(book(caller, persona), seconds_ago=5 - n) for n in range(5)]

    first = _sweep()
    second = _sweep()

    assert first.dispatch == [booking.pk for booking in bookings[:4]]
    (claimed,) = first.results
    assert [round(b - a, 6) for a, b in pairwise(claimed.dispatch_delays)] == [0.5] * 3
    assert second.dispatch == []
    assert ScheduledCall.objects.get(pk=bookings[4].pk).status == Status.SCHEDULED


def test_bookings_are_placed_in_batches_of_at_most_one_seconds_allowance(settings):
    settings.TWILIO_CALLS_PER_SECOND = 2
    ids, delays = list(range(5)), [0.0, 0.5, 1.0, 1.5, 2.0]

    assert list(pacing.dial_batches(ids, delays, largest=20)) == [([0, 1], 0.0), ([2, 3], 1.0), ([4], 2.0)]


def test_one_placing_task_places_each_booking_of_its_batch_past_one_gone_missing(caller, persona, twilio):
    booking = _claimed(caller, persona)
    missing = "00000000-0000-0000-0000-000000000000"

    statuses = tasks.place_bookings.apply(args=[[missing, str(booking.pk)]]).get()

    assert statuses == ["missing", Status.PLACED]
    assert len(twilio.calls) == 1
