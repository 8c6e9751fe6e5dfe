"""Every kind of bad input leaves the API in the one error envelope."""

import pytest

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
