"""Every kind of bad input leaves the API in the one error envelope."""

import pytest
from django.test import Client

from accounts.tokens import token_pair_issue
from callmeback.errors import MAX_MESSAGE_CHARS, error_body
from callmeback.parsers import MAX_JSON_DEPTH
from tests.accounts.test_auth_api import assert_error

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_validation_error(api_client):
    response = api_client.post("/api/auth/login", data='{"email": ', content_type="application/json")

    assert assert_error(response, 400, "VALIDATION_ERROR")["message"].startswith("Malformed request body")


def test_json_that_is_not_an_object_is_a_validation_error(api_client):
    assert_error(
        api_client.post("/api/auth/login", data="[1, 2]", content_type="application/json"), 400, "VALIDATION_ERROR"
    )


def test_unknown_api_path_is_404_not_found(api_client):
    assert_error(api_client.get("/api/does/not/exist"), 404, "NOT_FOUND")


def test_wrong_method_is_405_in_the_envelope(api_client):
    assert_error(api_client.get("/api/auth/login"), 405, "METHOD_NOT_ALLOWED")


def test_body_over_one_megabyte_is_413(api_client):
    body = '{"email": "' + "a" * (1024 * 1024) + '"}'

    assert_error(
        api_client.post("/api/auth/login", data=body, content_type="application/json"), 413, "PAYLOAD_TOO_LARGE"
    )


def test_form_encoded_body_is_415(api_client):
    response = api_client.post("/api/auth/login", data="email=a", content_type="application/x-www-form-urlencoded")

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unhandled_exception_is_500_server_error_without_internals(api_client, settings):
    settings.ROOT_URLCONF = "tests.core.urls_with_failing_view"

    response = api_client.get("/api/test/failing")

    body = assert_error(response, 500, "SERVER_ERROR")
    assert "hunter2" not in response.content.decode()
    assert body["details"] == {}


def test_unknown_page_outside_the_api_is_html(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_rate_limited_endpoint_reports_its_window_in_headers(api_client):
    response = api_client.post("/api/auth/login", {"email": "a@example.com", "password": "x"}, format="json")

    assert response["X-RateLimit-Limit"] == "5"
    assert response["X-RateLimit-Remaining"] == "4"
    assert int(response["X-RateLimit-Reset"]) % 60 == 0


def test_cors_allows_only_listed_origins(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    allowed = api_client.options(
        "/api/auth/login", HTTP_ORIGIN="https://app.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    other = api_client.options(
        "/api/auth/login", HTTP_ORIGIN="https://evil.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )

    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in other


def test_openapi_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema")
    docs = client.get("/api/docs")

    assert schema.status_code == 200
    assert b"/api/auth/login" in schema.content
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
    assert b"/static/drf_spectacular_sidecar/" in docs.content


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_api_path_is_404_envelope_whatever_the_method_without_auth(method):
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)("/api/no/such/endpoint", data="{}", content_type="application/json")

    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_unknown_api_path_is_404_envelope_with_a_token_or_a_session(method, user):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user).access}")
    client.force_login(user)

    response = getattr(client, method)("/api/personas/extra/part", data="{}", content_type="application/json")

    assert_error(response, 404, "NOT_FOUND")


def test_csrf_refusal_under_api_is_the_403_envelope(settings, user):
    settings.ROOT_URLCONF = "tests.core.urls_with_failing_view"
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert_error(client.post("/api/test/csrf-guarded"), 403, "FORBIDDEN")


def test_csrf_refusal_of_a_page_stays_html(client, user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post("/profile", {"name": "Someone"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/personas", "/api/auth/login", "/api/user/payment-method"])
def test_json_nested_100000_deep_is_a_validation_error(path, auth_client):
    response = auth_client.post(path, data="[" * 100_000, content_type="application/json")

    assert "deeper than" in assert_error(response, 400, "VALIDATION_ERROR")["message"]


def test_json_that_decodes_but_nests_past_the_limit_is_refused(auth_client):
    body = '{"name": ' + "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1) + "}"

    assert_error(auth_client.post("/api/personas", data=body, content_type="application/json"), 400, "VALIDATION_ERROR")


def test_json_nested_within_the_limit_reaches_field_validation(auth_client):
    body = '{"name": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"

    response = auth_client.post("/api/personas", data=body, content_type="application/json")

    assert assert_error(response, 400, "VALIDATION_ERROR")["details"]["name"] == ["Must be a string."]


def test_error_messages_quote_only_a_short_excerpt_of_the_input(auth_client):
    huge_tag = "x" * 100_000 + "!"
    body = {"name": "Tagger", "description": "A persona with a huge tag.", "voice": "rachel"}
    body |= {"system_prompt": "You are a persona used to test tags.", "tags": [huge_tag]}

    response = auth_client.post("/api/personas", data=body, format="json")

    assert_error(response, 400, "VALIDATION_ERROR")
    assert len(response.content) < 1000
    assert response.json()["details"]["tags"][0].startswith("Tag 'xxx")


def test_error_body_clips_any_long_message(auth_client):
    body = error_body("VALIDATION_ERROR", "m" * 5000, {"field": ["d" * 5000], "k" * 500: ["short"]})

    assert len(body["message"]) == MAX_MESSAGE_CHARS
    assert all(len(key) <= 40 for key in body["details"])
    assert len(body["details"]["field"][0]) == MAX_MESSAGE_CHARS


def test_a_number_is_not_accepted_as_a_text_field(auth_client):
    body = {"name": 12345, "description": "Numbers are not names.", "voice": "rachel"}
    body |= {"system_prompt": "You are a persona used to test types.", "tags": ["ok", 7]}

    response = auth_client.post("/api/personas", data=body, format="json")

    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert details["name"] == ["Must be a string."]
    assert details["tags"] == {"1": ["Must be a string."]}


def test_a_list_item_error_names_its_field_and_position(auth_client):
    body = {"name": "Listy", "description": "A persona with a null tag.", "voice": "rachel"}
    body |= {"system_prompt": "You are a persona used to test tags.", "tags": ["ok", None]}

    response = auth_client.post("/api/personas", data=body, format="json")

    assert assert_error(response, 400, "VALIDATION_ERROR")["message"] == "tags[1]: This field may not be null."


def test_every_endpoint_reading_its_body_through_parse_input_takes_text_as_strings_only(api_client):
    body = {"name": 12345, "email": "numbers@example.com", "password": "Str0ng!Pass", "phone": 15551234567}

    response = api_client.post("/api/auth/register", data=body, format="json")

    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert details == {"name": ["Must be a string."], "phone": ["Must be a string."]}
