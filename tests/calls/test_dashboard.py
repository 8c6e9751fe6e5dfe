"""The calls dashboard: Call now (verify, hold, dial), history, a call's page, usage; the same
services as the API, against the local Twilio and localstripe."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import VerifiedPhoneNumber
from billing.models import PaymentAuthorization
from callmeback.errors import ValidationFailed
from calls import views
from calls.models import Call, CallFeedback
from calls.selectors import MonthUsage, Usage, UsageFigures
from calls.services import placing
from tests.calls.conftest import PHONE
from tests.factories import UserFactory
from tests.personas.factories import ContactFactory, PersonaFactory

Status = PaymentAuthorization.Status
OTHER_PHONE = "+14155550188"


@pytest.fixture
def browser(caller) -> Client:
    client = Client()
    client.force_login(caller)
    return client


def finished_call(user, persona, *, status=Call.Status.COMPLETED, duration=90, cost_cents=85, **fields) -> Call:
    moment = fields.pop("created_at", timezone.now())
    return Call.objects.create(
        user=user,
        persona=persona,
        persona_name=persona.name,
        phone_number=PHONE,
        status=status,
        start_time=moment,
        end_time=moment + timedelta(seconds=duration),
        duration=duration,
        cost_cents=cost_cents,
        created_at=moment,
        **fields,
    )


def test_call_now_offers_contacts_first_then_the_catalogue_with_the_persona_chosen(browser, caller, persona):
    friend = PersonaFactory(is_public=True, name="Zed")
    ContactFactory(user=caller, persona=friend)

    page = browser.get(f"/calls/new?persona={persona.pk}").content.decode()

    assert page.index('label="Your contacts"') < page.index("Zed") < page.index('label="Catalogue"')
    assert page.index('label="Catalogue"') < page.index("Best Friend")
    assert f'<option value="{persona.pk}" selected>' in page
    assert "Visa •••• 4242" in page
    assert "We will call …0123" in page


def test_sending_and_checking_a_code_verifies_the_number(browser, caller, twilio):
    sent = browser.post("/phone/verify/send", {"phone": OTHER_PHONE, "next": "/calls/new"}, follow=True)
    code = twilio.verification_code(OTHER_PHONE)

    assert "We texted a code to …0188." in sent.content.decode()
    assert 'id="verify-check-form"' in sent.content.decode()
    checked = browser.post(
        "/phone/verify/check", {"phone": OTHER_PHONE, "code": code, "next": "/calls/new"}, follow=True
    )

    assert "…0188 is verified." in checked.content.decode()
    assert VerifiedPhoneNumber.objects.filter(user=caller, phone_number=OTHER_PHONE).exists()


def test_verifying_after_a_refused_call_now_keeps_the_persona_and_length(browser, caller, persona, twilio):
    refused = browser.post("/calls/new", {"persona": persona.pk, "phone_number": OTHER_PHONE, "minutes": 7})
    back = f"/calls/new?persona={persona.pk}&minutes=7"
    assert refused.status_code == 200
    assert f'name="next" value="{back.replace("&", "&amp;")}"' in refused.content.decode()

    browser.post("/phone/verify/send", {"phone": OTHER_PHONE, "next": back})
    code = twilio.verification_code(OTHER_PHONE)
    checked = browser.post("/phone/verify/check", {"phone": OTHER_PHONE, "code": code, "next": back}, follow=True)

    page = checked.content.decode()
    assert "…0188 is verified." in page
    assert f'<option value="{persona.pk}" selected>' in page
    assert 'name="minutes" value="7"' in page


def test_a_wrong_code_is_refused_and_the_number_stays_unverified(browser, caller, twilio):
    browser.post("/phone/verify/send", {"phone": OTHER_PHONE})
    wrong = "000000" if twilio.verification_code(OTHER_PHONE) != "000000" else "111111"

    checked = browser.post("/phone/verify/check", {"phone": OTHER_PHONE, "code": wrong}, follow=True)

    assert "That code is not correct." in checked.content.decode()
    assert not VerifiedPhoneNumber.objects.filter(user=caller, phone_number=OTHER_PHONE).exists()


def test_calling_now_holds_the_estimate_dials_and_opens_the_call_page(browser, persona, twilio):
    response = browser.post("/calls/new", {"persona": persona.pk, "phone_number": PHONE, "minutes": 3})

    call = Call.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/calls/{call.pk}"
    assert call.authorization.amount_authorized == 145  # 25 + 3 * 40
    assert twilio.calls[call.sid].time_limit == call.authorized_seconds == 180
    page = browser.get(response["Location"]).content.decode()
    assert f'data-socket-path="/ws/calls/{call.pk}/status"' in page
    assert "The conversation appears here as it happens." in page and "data-live-transcript" in page


def test_submitting_call_now_again_lands_on_the_call_the_first_placed(browser, persona, twilio):
    form = {"persona": persona.pk, "phone_number": PHONE, "minutes": 3}

    first = browser.post("/calls/new", form)
    again = browser.post("/calls/new", form, follow=True)

    call = Call.objects.get()
    assert first["Location"] == again.redirect_chain[-1][0] == f"/calls/{call.pk}"
    assert "You are already in this call." in again.content.decode()
    assert PaymentAuthorization.objects.count() == 1 and len(twilio.calls) == 1


def test_a_call_now_submit_during_a_live_call_lands_on_it_without_a_hold(browser, persona, place, twilio):
    live = place()

    response = browser.post("/calls/new", {"persona": persona.pk, "phone_number": PHONE, "minutes": 3}, follow=True)

    assert response.redirect_chain[-1][0] == f"/calls/{live.pk}"
    assert "You are already in this call." in response.content.decode()
    assert PaymentAuthorization.objects.count() == 1 and len(twilio.calls) == 1


def test_calling_an_unverified_number_is_refused_before_any_hold(browser, persona, twilio):
    response = browser.post("/calls/new", {"persona": persona.pk, "phone_number": OTHER_PHONE, "minutes": 3})

    assert "Verify this phone number before calling it." in response.content.decode()
    assert not PaymentAuthorization.objects.exists()
    assert twilio.calls == {}


def test_a_dial_twilio_refuses_shows_the_error_and_releases_the_hold(browser, persona, twilio):
    twilio.fail_next("POST", r"/Calls\.json$", status=400, code=21211, message="Invalid 'To' Phone Number")

    response = browser.post("/calls/new", {"persona": persona.pk, "phone_number": PHONE, "minutes": 3})

    assert response.status_code == 200
    assert Call.objects.get().status == Call.Status.FAILED
    assert PaymentAuthorization.objects.get().status == Status.CANCELED


def test_a_persona_one_may_not_use_is_refused_before_any_hold_is_placed(caller, twilio):
    someone_elses = PersonaFactory(is_public=False, owner=UserFactory())

    with pytest.raises(ValidationFailed):
        placing.call_place_on_default_card(
            user=caller, phone_number=PHONE, persona_id=someone_elses.pk, estimated_minutes=3
        )

    assert not PaymentAuthorization.objects.exists()
    assert not Call.objects.exists()


def test_history_lists_own_calls_with_their_cost_and_filters_by_status(browser, caller, persona):
    finished_call(caller, persona, cost_cents=85)
    finished_call(
        caller, persona, status=Call.Status.FAILED, duration=0, cost_cents=0, error_message="Nobody answered."
    )
    finished_call(UserFactory(), persona, cost_cents=999)

    everything = browser.get("/calls").content.decode()
    failed = browser.get("/calls?status=failed").content.decode()

    assert "2 calls" in everything and "$0.85" in everything and "$9.99" not in everything
    assert "1 call" in failed and "$0.85" not in failed


def test_history_with_a_bad_filter_says_so_and_shows_everything(browser, caller, persona):
    finished_call(caller, persona)

    page = browser.get("/calls?status=nonsense").content.decode()

    assert "status must be one of" in page
    assert "1 call" in page


def test_another_persons_call_page_is_not_found(browser, persona):
    theirs = finished_call(UserFactory(), persona)

    assert browser.get(f"/calls/{theirs.pk}").status_code == 404
    assert browser.post(f"/calls/{theirs.pk}/feedback", {"rating": 5}).status_code == 404
    assert browser.post(f"/calls/{theirs.pk}/end").status_code == 404


def test_a_finished_call_shows_its_cost_breakdown_and_takes_feedback(browser, caller, persona):
    call = finished_call(caller, persona, duration=90, cost_cents=85)

    page = browser.get(f"/calls/{call.pk}").content.decode()
    browser.post(f"/calls/{call.pk}/feedback", {"rating": 4, "feedback_text": "Lovely chat"})

    assert "90 s at $0.40/min = $0.60" in page and "$0.85" in page
    assert (call.feedback.rating, call.feedback.feedback_text) == (4, "Lovely chat")
    browser.post(f"/calls/{call.pk}/feedback", {"rating": 2})
    assert CallFeedback.objects.get(call=call).rating == 2


def test_hanging_up_from_the_call_page_ends_the_call_at_twilio(browser, persona, twilio):
    browser.post("/calls/new", {"persona": persona.pk, "phone_number": PHONE, "minutes": 3})
    call = Call.objects.get()

    browser.post(f"/calls/{call.pk}/end")

    assert twilio.calls[call.sid].status == "canceled"
    assert Call.objects.get().ended_by == Call.EndedBy.USER


def test_usage_shows_the_months_minutes_and_spend(browser, caller, persona):
    finished_call(caller, persona, duration=150, cost_cents=125)

    page = browser.get("/usage?months=3").content.decode()

    assert page.count("<rect") == 3
    assert "$1.25" in page
    assert f"<td>{timezone.now():%B %Y}</td><td>1</td><td>3</td><td>$1.25</td>" in page


def test_the_usage_chart_scales_bars_to_the_busiest_month():
    today = timezone.now().date().replace(day=1)
    usage = Usage(
        total=UsageFigures(3, 900, 0),
        months=[MonthUsage(today, UsageFigures(1, 300, 0)), MonthUsage(today, UsageFigures(2, 600, 0))],
    )

    bars = views.usage_bars(usage)

    assert [(bar.height, bar.y) for bar in bars] == [(80, 80), (160, 0)]
