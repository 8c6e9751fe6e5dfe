"""GET /api/calls (`000_*` §2.1) and GET /api/user/usage (§5.2)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call, CallTurn
from tests.calls.conftest import PHONE
from tests.conftest import client_for
from tests.personas.factories import PersonaFactory


@pytest.fixture
def make_call(user, db):
    persona = PersonaFactory(is_public=True, name="Coach")

    def make(*, owner=None, status=Call.Status.COMPLETED, created_at=None, duration=60, cost_cents=65, **fields):
        finished = status in Call.FINISHED
        return Call.objects.create(
            user=owner or user,
            persona=persona,
            persona_name=persona.name,
            phone_number=PHONE,
            status=status,
            created_at=created_at or timezone.now(),
            start_time=created_at if finished else None,
            end_time=(created_at or timezone.now()) if finished else None,
            duration=duration if finished else None,
            cost_cents=cost_cents if finished else None,
            **fields,
        )

    return make


def _ids(response) -> list[str]:
    return [row["id"] for row in response.json()["calls"]]


def test_the_history_lists_own_calls_newest_first_in_the_spec_shape(auth_client, user, make_call, user_factory):
    older = make_call(created_at=timezone.now() - timedelta(hours=2), duration=330, cost_cents=245)
    newer = make_call(status=Call.Status.FAILED, error_message="Nobody answered.")
    make_call(owner=user_factory())

    response = auth_client.get("/api/calls")

    assert response.status_code == 200
    body = response.json()
    assert _ids(response) == [str(newer.pk), str(older.pk)]
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 2, "pages": 1}
    row = body["calls"][1]
    assert set(row) == {
        "id",
        "user_id",
        "persona_id",
        "persona_name",
        "status",
        "start_time",
        "end_time",
        "duration",
        "cost",
        "sid",
        "transcript",
        "error_message",
    }
    assert (row["persona_name"], row["duration"], row["cost"], row["error_message"]) == ("Coach", 330, 2.45, None)
    assert row["start_time"] == older.start_time.isoformat().replace("+00:00", "Z")
    assert (row["id"], row["persona_id"], row["sid"]) == (str(older.pk), str(older.persona_id), None)
    assert body["calls"][0]["error_message"] == "Nobody answered."


def test_the_history_carries_each_finished_calls_transcript(auth_client, make_call):
    call = make_call()
    CallTurn.objects.create(call=call, index=0, speaker="persona", text="Morning!")
    CallTurn.objects.create(call=call, index=1, speaker="person", text="Hi coach")

    row = auth_client.get("/api/calls").json()["calls"][0]

    assert row["transcript"] == "Coach: Morning!\nYou: Hi coach"


def test_the_history_filters_by_status_and_dates(auth_client, make_call):
    day = datetime(2026, 3, 10, 12, tzinfo=UTC)
    make_call(created_at=day - timedelta(days=3))
    inside = make_call(created_at=day)
    make_call(created_at=day, status=Call.Status.FAILED)
    make_call(created_at=day + timedelta(days=3))

    response = auth_client.get("/api/calls?status=completed&from_date=2026-03-09&to_date=2026-03-11")

    assert _ids(response) == [str(inside.pk)]


@pytest.mark.parametrize("sort, expected", [("cost_desc", [2, 1, 0]), ("cost_asc", [0, 1, 2]), ("date_asc", [1, 2, 0])])
def test_the_history_sorts_by_cost_or_date(auth_client, make_call, sort, expected):
    now = timezone.now()
    calls = [
        make_call(cost_cents=65, created_at=now),
        make_call(cost_cents=105, created_at=now - timedelta(hours=2)),
        make_call(cost_cents=425, created_at=now - timedelta(hours=1)),
    ]

    response = auth_client.get(f"/api/calls?sort={sort}")

    assert _ids(response) == [str(calls[i].pk) for i in expected]


def test_the_history_pages_with_limit(auth_client, make_call):
    now = timezone.now()
    calls = [make_call(created_at=now - timedelta(minutes=i)) for i in range(5)]

    response = auth_client.get("/api/calls?page=2&limit=2")

    assert _ids(response) == [str(calls[2].pk), str(calls[3].pk)]
    assert response.json()["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=ringing", "status"),
        ("sort=newest", "sort"),
        ("from_date=yesterday", "from_date"),
        ("to_date=2026-13-40", "to_date"),
        ("from_date=2026-03-10&to_date=2026-03-01", "to_date"),
        ("limit=101", "limit"),
        ("page=0", "page"),
    ],
)
def test_bad_history_parameters_are_a_validation_error(auth_client, query, field):
    response = auth_client.get(f"/api/calls?{query}")

    assert (response.status_code, response.json()["error"]) == (400, "VALIDATION_ERROR")
    assert field in response.json()["details"]


def test_a_history_page_costs_the_same_queries_whatever_its_size(user, make_call):
    client = client_for(user)
    for _ in range(3):
        make_call()

    def queries_for(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/api/calls?limit={limit}&page=1").status_code == 200
        return len(captured)

    small = queries_for(1)
    for _ in range(40):
        make_call()
    assert queries_for(100) == small


def test_the_history_is_cached_until_one_of_the_users_calls_changes(place, twilio, caller):
    client = client_for(caller)
    first = client.get("/api/calls").json()
    Call.objects.filter(user=caller).delete()  # a change behind the services' back is not seen
    assert client.get("/api/calls").json() == first

    call = place()

    assert _ids(client.get("/api/calls")) == [str(call.pk)]
    twilio.advance(call.sid, "in-progress")
    assert client.get("/api/calls").json()["calls"][0]["status"] == "in-progress"


def test_the_history_needs_authentication(api_client):
    assert api_client.get("/api/calls").status_code == 401


# --- usage ------------------------------------------------------------------------------------


def _month_start(months_back: int) -> datetime:
    today = timezone.now()
    year, month = today.year, today.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, 12, tzinfo=UTC)


def test_usage_sums_calls_minutes_and_spend_per_month_including_empty_months(auth_client, make_call):
    this_month = _month_start(0)
    two_months_ago = _month_start(2)
    make_call(created_at=this_month, duration=330, cost_cents=245)
    make_call(created_at=this_month, duration=300, cost_cents=225)
    make_call(created_at=this_month, status=Call.Status.FAILED, duration=0, cost_cents=0)
    make_call(created_at=two_months_ago, duration=90, cost_cents=85)
    make_call(created_at=_month_start(5), duration=600, cost_cents=425)

    response = auth_client.get("/api/user/usage?months=3")

    assert response.status_code == 200
    body = response.json()
    assert (body["total_calls"], body["total_minutes"], body["total_spent"]) == (5, 22, 9.8)
    assert body["current_month"] == {"calls": 3, "minutes": 11, "spent": 4.7}
    assert body["monthly_breakdown"] == [
        {"month": two_months_ago.strftime("%b %Y"), "calls": 1, "minutes": 2, "spent": 0.85},
        {"month": _month_start(1).strftime("%b %Y"), "calls": 0, "minutes": 0, "spent": 0.0},
        {"month": this_month.strftime("%b %Y"), "calls": 3, "minutes": 11, "spent": 4.7},
    ]


def test_usage_counts_only_the_users_own_calls(auth_client, make_call, user_factory):
    make_call(owner=user_factory(), duration=600, cost_cents=425)

    body = auth_client.get("/api/user/usage").json()

    assert (body["total_calls"], body["total_spent"]) == (0, 0.0)
    assert len(body["monthly_breakdown"]) == 3


def test_usage_is_computed_in_two_queries(user, make_call):
    client = client_for(user)
    for months_back in range(6):
        make_call(created_at=_month_start(months_back))

    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/user/usage?months=12").status_code == 200

    usage_queries = [q for q in captured.captured_queries if "calls_call" in q["sql"]]
    assert len(usage_queries) == 2


@pytest.mark.parametrize("months", ["0", "25", "three", "-1"])
def test_usage_months_out_of_range_is_a_validation_error(auth_client, months):
    response = auth_client.get(f"/api/user/usage?months={months}")

    assert (response.status_code, response.json()["error"]) == (400, "VALIDATION_ERROR")
