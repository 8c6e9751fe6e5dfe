"""GET /api/personas and GET /api/personas/:id: visibility, filters, paging, caching."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personas import services
from personas.models import Persona
from tests.conftest import client_for

URL = "/api/personas"
SYSTEM_COUNT = 6


def names(response) -> set[str]:
    return {persona["name"] for persona in response.json()["personas"]}


@pytest.fixture
def catalogue(persona_factory, user, other_user):
    """Mine (public and private), someone else's (public and private)."""
    return {
        "mine_public": persona_factory(owner=user, name="My Public", is_public=True),
        "mine_private": persona_factory(owner=user, name="My Private"),
        "theirs_public": persona_factory(owner=other_user, name="Their Public", is_public=True),
        "theirs_private": persona_factory(owner=other_user, name="Their Private"),
    }


@pytest.mark.django_db
class TestVisibility:
    def test_anonymous_sees_system_and_public_personas_only(self, api_client, catalogue):
        response = api_client.get(URL, {"limit": 100})
        assert response.status_code == 200
        assert {"My Public", "Their Public", "Best Friend"} <= names(response)
        assert not {"My Private", "Their Private"} & names(response)
        assert response.json()["pagination"]["total"] == SYSTEM_COUNT + 2

    def test_signed_in_user_also_sees_their_own_private_personas(self, auth_client, catalogue):
        response = auth_client.get(URL, {"limit": 100})
        assert {"My Public", "My Private", "Their Public"} <= names(response)
        assert "Their Private" not in names(response)
        assert response.json()["pagination"]["total"] == SYSTEM_COUNT + 3

    def test_other_user_does_not_see_my_private_persona(self, other_user, catalogue):
        response = client_for(other_user).get(URL, {"limit": 100})
        assert "Their Private" in names(response)
        assert "My Private" not in names(response)

    def test_invalid_token_is_refused_even_for_a_public_list(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        response = api_client.get(URL)
        assert response.status_code == 401
        assert response.json()["error"] == "INVALID_TOKEN"


@pytest.mark.django_db
def test_list_item_has_the_spec_fields_and_created_by(auth_client, user, catalogue):
    response = auth_client.get(URL, {"limit": 100, "sort": "name_asc"})
    items = {item["name"]: item for item in response.json()["personas"]}
    mine = items["My Private"]
    assert mine["created_by"] == str(user.pk)
    assert items["Best Friend"]["created_by"] == "system"
    for field in ["id", "name", "description", "voice", "system_prompt", "is_public", "tags", "created_at"]:
        assert field in mine
    assert mine["use_count"] == 0
    assert mine["greeting"] == ""
    assert mine["voice_speed"] == 1.0


@pytest.mark.django_db
class TestPagination:
    def test_defaults_to_page_one_of_twenty(self, api_client, persona_factory):
        persona_factory.create_batch(25, is_public=True)
        body = api_client.get(URL).json()
        assert len(body["personas"]) == 20
        assert body["pagination"] == {"page": 1, "limit": 20, "total": 25 + SYSTEM_COUNT, "pages": 2}

    def test_pages_do_not_overlap(self, api_client, persona_factory):
        persona_factory.create_batch(5, is_public=True)
        pages = [api_client.get(URL, {"limit": 5, "page": page}).json()["personas"] for page in (1, 2, 3, 4)]
        assert [len(items) for items in pages] == [5, 5, 1, 0]
        ids = [item["id"] for items in pages for item in items]
        assert len(set(ids)) == 5 + SYSTEM_COUNT

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"limit": 101}, "limit"), ({"limit": 0}, "limit"), ({"page": 0}, "page"), ({"page": "two"}, "page")],
    )
    def test_bad_paging_is_a_validation_error(self, api_client, params, field):
        response = api_client.get(URL, params)
        assert response.status_code == 400
        assert response.json()["error"] == "VALIDATION_ERROR"
        assert field in response.json()["details"]


@pytest.mark.django_db
class TestFilters:
    def test_search_matches_name_or_description_case_insensitively(self, api_client, persona_factory):
        persona_factory(is_public=True, name="Sailing Captain", description="Tells stories about the open sea.")
        persona_factory(is_public=True, name="Chef Remy", description="Talks about SAILING recipes and knots.")
        persona_factory(is_public=True, name="Gardener", description="Loves roses and tomatoes.")
        assert names(api_client.get(URL, {"search": "sailing"})) == {"Sailing Captain", "Chef Remy"}

    @pytest.mark.parametrize("search", ["a", "x" * 101, "<script>", "drop;table"])
    def test_bad_search_is_a_validation_error(self, api_client, search):
        response = api_client.get(URL, {"search": search})
        assert response.status_code == 400
        assert response.json()["error"] == "VALIDATION_ERROR"
        assert "search" in response.json()["details"]

    def test_tags_filter_keeps_personas_with_every_tag(self, api_client, persona_factory):
        persona_factory(is_public=True, name="Both Tags", tags=["calm", "friendly"])
        persona_factory(is_public=True, name="Only Calm", tags=["calm"])
        persona_factory(is_public=True, name="Calmness", tags=["calmness", "friendly"])
        assert names(api_client.get(URL, {"tags": "calm"})) == {"Both Tags", "Only Calm", "Wise Grandparent"}
        assert names(api_client.get(URL, {"tags": "Calm, FRIENDLY"})) == {"Both Tags"}

    @pytest.mark.parametrize("tags", [",".join(f"tag{n}" for n in range(11)), "a", "bad_tag", "x" * 31])
    def test_bad_tags_are_a_validation_error(self, api_client, tags):
        response = api_client.get(URL, {"tags": tags})
        assert response.status_code == 400
        assert "tags" in response.json()["details"]

    def test_is_public_false_lists_only_my_private_personas(self, auth_client, catalogue):
        assert names(auth_client.get(URL, {"is_public": "false"})) == {"My Private"}

    def test_created_by_system_lists_system_personas(self, api_client, catalogue):
        body = api_client.get(URL, {"created_by": "system", "limit": 100}).json()
        assert len(body["personas"]) == SYSTEM_COUNT
        assert {item["created_by"] for item in body["personas"]} == {"system"}

    def test_created_by_user_id_lists_their_visible_personas(self, api_client, other_user, catalogue):
        assert names(api_client.get(URL, {"created_by": str(other_user.pk)})) == {"Their Public"}

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"is_public": "maybe"}, "is_public"), ({"created_by": "bob"}, "created_by"), ({"sort": "best"}, "sort")],
    )
    def test_bad_filter_values_are_validation_errors(self, api_client, params, field):
        response = api_client.get(URL, params)
        assert response.status_code == 400
        assert response.json()["error"] == "VALIDATION_ERROR"
        assert field in response.json()["details"]

    def test_every_bad_parameter_is_reported_at_once(self, api_client):
        response = api_client.get(URL, {"sort": "x", "is_public": "x", "search": "a"})
        assert set(response.json()["details"]) == {"sort", "is_public", "search"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name_asc", ["alpha one", "Bravo", "charlie"]),
        ("name_desc", ["charlie", "Bravo", "alpha one"]),
        ("created_asc", ["Bravo", "charlie", "alpha one"]),
        ("created_desc", ["alpha one", "charlie", "Bravo"]),
    ],
)
def test_sort_orders_the_list(auth_client, user, persona_factory, sort, expected):
    for name in ["Bravo", "charlie", "alpha one"]:
        persona_factory(owner=user, name=name)
    response = auth_client.get(URL, {"sort": sort, "created_by": str(user.pk)})
    assert [item["name"] for item in response.json()["personas"]] == expected


@pytest.mark.django_db
class TestRateLimits:
    def test_anonymous_limit_is_60_per_minute_with_headers(self, api_client):
        response = api_client.get(URL)
        assert response["X-RateLimit-Limit"] == "60"
        assert response["X-RateLimit-Remaining"] == "59"
        assert int(response["X-RateLimit-Reset"]) > 0

    def test_signed_in_limit_is_120_per_minute(self, auth_client):
        assert auth_client.get(URL)["X-RateLimit-Limit"] == "120"

    def test_the_61st_anonymous_request_in_a_minute_is_refused(self, api_client):
        for _ in range(60):
            assert api_client.get(URL).status_code == 200
        response = api_client.get(URL)
        assert response.status_code == 429
        assert response.json()["error"] == "RATE_LIMIT_EXCEEDED"
        assert response.json()["retry_after"] >= 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_user", "max_queries"),
    [(False, 2), (True, 4)],  # COUNT + page; signed in also the token's user and revocation check
)
def test_list_takes_the_same_few_queries_for_1_or_50_personas(
    api_client, user, persona_factory, django_assert_max_num_queries, as_user, max_queries
):
    persona_factory.create_batch(60, is_public=True, tags=["calm"])
    client = client_for(user) if as_user else api_client
    counts = []
    for limit in (1, 50):
        services.catalogue_changed()  # a cold cache: measure the database work
        with django_assert_max_num_queries(max_queries), CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"limit": limit, "tags": "calm"})
        assert len(response.json()["personas"]) == limit
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db
class TestCaching:
    def test_a_repeated_anonymous_list_is_served_from_the_cache(self, api_client, django_assert_num_queries):
        api_client.get(URL)
        with django_assert_num_queries(0):
            assert api_client.get(URL).status_code == 200

    def test_a_write_outside_the_services_is_not_seen_until_the_cache_is_invalidated(self, api_client, persona_factory):
        """Proves the list really is cached (so the tests below test invalidation)."""
        api_client.get(URL)
        persona_factory(is_public=True, name="Sneaky Insert")
        assert "Sneaky Insert" not in names(api_client.get(URL))
        services.catalogue_changed()
        assert "Sneaky Insert" in names(api_client.get(URL))

    def test_created_persona_is_listed_at_once(self, auth_client, api_client, persona_payload):
        api_client.get(URL, {"limit": 100})
        auth_client.get(URL, {"limit": 100})
        auth_client.post(URL, persona_payload(name="Fresh Face", is_public=True), format="json")
        assert "Fresh Face" in names(api_client.get(URL, {"limit": 100}))
        assert "Fresh Face" in names(auth_client.get(URL, {"limit": 100}))

    def test_updated_and_deleted_personas_change_the_list_at_once(self, auth_client, api_client, user, persona_factory):
        persona = persona_factory(owner=user, name="Old Name", is_public=True)
        assert "Old Name" in names(api_client.get(URL, {"limit": 100}))
        auth_client.put(f"{URL}/{persona.pk}", {"name": "New Name"}, format="json")
        assert "New Name" in names(api_client.get(URL, {"limit": 100}))
        auth_client.put(f"{URL}/{persona.pk}", {"is_public": False}, format="json")
        assert "New Name" not in names(api_client.get(URL, {"limit": 100}))
        assert "New Name" in names(auth_client.get(URL, {"limit": 100}))
        auth_client.delete(f"{URL}/{persona.pk}")
        assert "New Name" not in names(auth_client.get(URL, {"limit": 100}))

    def test_recorded_use_shows_in_the_list_at_once(self, api_client, django_capture_on_commit_callbacks):
        persona = Persona.objects.get(name="Best Friend", owner=None)
        api_client.get(URL, {"search": "best friend"})
        with django_capture_on_commit_callbacks(execute=True):
            services.persona_record_use(persona=persona)
        item = api_client.get(URL, {"search": "best friend"}).json()["personas"][0]
        assert item["use_count"] == 1


@pytest.mark.django_db
class TestDetail:
    def test_anyone_can_read_a_public_persona(self, api_client, catalogue):
        persona = catalogue["theirs_public"]
        response = api_client.get(f"{URL}/{persona.pk}")
        assert response.status_code == 200
        assert response.json()["persona"]["id"] == str(persona.pk)

    def test_owner_can_read_their_private_persona(self, auth_client, catalogue):
        assert auth_client.get(f"{URL}/{catalogue['mine_private'].pk}").status_code == 200

    def test_someone_elses_private_persona_is_not_found(self, auth_client, catalogue):
        response = auth_client.get(f"{URL}/{catalogue['theirs_private'].pk}")
        assert response.status_code == 404
        assert response.json()["error"] == "NOT_FOUND"

    @pytest.mark.parametrize("persona_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
    def test_missing_persona_is_not_found(self, api_client, persona_id):
        response = api_client.get(f"{URL}/{persona_id}")
        assert response.status_code == 404
        assert response.json() == {"error": "NOT_FOUND", "message": "Persona not found.", "details": {}}


@pytest.mark.django_db
def test_deleting_a_user_by_any_path_drops_their_personas_from_the_cached_list(api_client, user, persona_factory):
    persona = persona_factory(owner=user, is_public=True, name="Leaving Soon")
    assert "Leaving Soon" in [p["name"] for p in api_client.get(URL).json()["personas"]]

    user.delete()  # a cascade, as the admin or a shell does: no personas service involved

    names = [p["name"] for p in api_client.get(URL).json()["personas"]]
    assert persona.name not in names
