"""Schemathesis over the whole OpenAPI schema, through the WSGI app on the test database,
signed in: no server errors, every status and error code documented, every body as the
schema says. Bounded: a few examples per operation, derandomised.

The app runs in the test's thread and transaction. As Django's own test client does, the
request signals do not close the connection (that would end the test's transaction).
"""

import jsonschema
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tokens import token_pair_issue
from tests.fakes.localstripe_server import LocalStripeServer
from tests.fakes.stripe_front import StripeFront

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 8


@pytest.fixture(scope="session")
def stripe_front() -> StripeFront:
    """localstripe behind the front that answers Checkout."""
    return StripeFront(upstream=LocalStripeServer.shared().url).start()


@pytest.fixture(autouse=True)
def _connection_kept_across_requests():
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _local_stripe_and_no_limits(settings, db, stripe_front):
    LocalStripeServer.shared().reset()
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_API_BASE = stripe_front.url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_schema_conformance"
    settings.STRIPE_PREMIUM_PRICE_MONTH = "price_premium_month"
    settings.STRIPE_PREMIUM_PRICE_YEAR = "price_premium_year"
    # Limits would answer most examples with 429 (documented, but it hides everything else).
    settings.RATELIMIT_ENABLED = False


# Read at collection through the WSGI app (the schema view touches no database).
schema = schemathesis.openapi.from_wsgi("/api/schema", get_wsgi_application())


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_of_every_operation_is_documented(case, user):
    user.refresh_from_db()  # a password change in an earlier example ends older tokens
    headers = {"Authorization": f"Bearer {token_pair_issue(user=user).access}"}

    case.call_and_validate(headers=headers, checks=CHECKS)


def _operation(path: str, method: str) -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["paths"][path][method]


def test_declared_error_codes_are_listed_under_their_status():
    responses = _operation("/api/auth/register", "post")["responses"]

    assert responses["409"]["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == [
        "EMAIL_EXISTS",
        "PHONE_EXISTS",
    ]
    assert "$ref" in responses["409"]["content"]["application/json"]["schema"]["allOf"][0]


def test_errors_that_follow_from_the_view_are_inferred():
    responses = _operation("/api/personas/{persona_id}", "put")["responses"]

    def codes(status: str) -> list[str]:
        return responses[status]["content"]["application/json"]["schema"]["properties"]["error"]["enum"]

    assert codes("400") == ["VALIDATION_ERROR", "DUPLICATE_NAME"]
    assert codes("401") == ["UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_REVOKED"]
    assert codes("404") == ["NOT_FOUND"]
    assert codes("429") == ["RATE_LIMIT_EXCEEDED"]
    assert responses["429"]["content"]["application/json"]["schema"]["required"] == ["retry_after"]


def test_anonymous_reads_do_not_list_unauthorized():
    responses = _operation("/api/personas", "get")["responses"]

    assert responses["401"]["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == [
        "INVALID_TOKEN",
        "TOKEN_REVOKED",
    ]


def test_a_shared_429_requires_retry_after_only_with_rate_limit_exceeded():
    schema = _operation("/api/call", "post")["responses"]["429"]["content"]["application/json"]["schema"]
    own_part = jsonschema.Draft4Validator({key: value for key, value in schema.items() if key != "allOf"})

    assert schema["properties"]["error"]["enum"] == ["RATE_LIMIT_EXCEEDED", "CONCURRENT_CALLS"]
    assert own_part.is_valid({"error": "CONCURRENT_CALLS", "message": "In a call.", "details": {}})
    assert not own_part.is_valid({"error": "RATE_LIMIT_EXCEEDED", "message": "Too many requests", "details": {}})
    assert own_part.is_valid({"error": "RATE_LIMIT_EXCEEDED", "message": "Too many", "retry_after": 9, "details": {}})


@pytest.mark.parametrize(
    "path", ["/api/twilio/callback", "/webhooks/twilio/call-status", "/webhooks/twilio/recording-status"]
)
def test_twilio_callbacks_document_an_empty_204_and_403_for_a_bad_signature(path):
    responses = _operation(path, "post")["responses"]

    assert "content" not in responses["204"]
    assert responses["403"]["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == ["FORBIDDEN"]
    assert "401" not in responses


def test_the_answer_webhook_documents_twiml_and_403_for_a_bad_signature():
    operation = _operation("/api/voice/answer", "post")

    assert list(operation["responses"]["200"]["content"]) == ["text/xml"]
    assert list(operation["requestBody"]["content"]) == ["application/x-www-form-urlencoded"]
    assert operation["responses"]["403"]["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == [
        "FORBIDDEN"
    ]


# `000_*` §2: the error codes the contract lists per call-management operation.
CONTRACT_CODES = {
    ("/api/calls", "get"): {"400": ["VALIDATION_ERROR"], "401": ["UNAUTHORIZED"]},
    ("/api/call", "post"): {
        "400": ["VALIDATION_ERROR"],
        "401": ["UNAUTHORIZED"],
        "402": ["PAYMENT_REQUIRED", "PAYMENT_FAILED"],
        "403": ["PHONE_NOT_VERIFIED"],
        "429": ["CONCURRENT_CALLS"],
        "500": ["TWILIO_ERROR"],
    },
    ("/api/calls/schedule", "post"): {
        "400": ["VALIDATION_ERROR"],
        "401": ["UNAUTHORIZED"],
        "402": ["PAYMENT_REQUIRED"],
        "429": ["MAX_SCHEDULED"],
    },
    ("/api/calls/schedule/{booking_id}", "delete"): {
        "400": ["CANCELLATION_DENIED"],
        "403": ["FORBIDDEN"],
        "404": ["NOT_FOUND"],
        "500": ["REFUND_FAILED"],
    },
}


@pytest.mark.parametrize(("path", "method"), list(CONTRACT_CODES))
def test_call_operations_document_the_contract_error_codes(path, method):
    responses = _operation(path, method)["responses"]

    for status, codes in CONTRACT_CODES[(path, method)].items():
        documented = responses[status]["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
        assert set(codes) <= set(documented), (status, documented)
