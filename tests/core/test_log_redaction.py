"""Log lines, written through a handler with the project's redaction filter, keep provider
secrets out: OpenAI-style keys and Twilio's auth token, as typed, configured or in Basic
credentials."""

import base64
import io
import logging
import secrets
from collections.abc import Iterator

import pytest

from callmeback.logging import RedactSecretsFilter


@pytest.fixture
def log_output() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose lines go through `RedactSecretsFilter` into a string, as the console
    handler of settings.LOGGING sends them."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, output
    logger.removeHandler(handler)


@pytest.fixture
def twilio_auth_token(settings) -> str:
    settings.TWILIO_ACCOUNT_SID = "AC" + secrets.token_hex(16)
    settings.TWILIO_AUTH_TOKEN = secrets.token_hex(16)
    return settings.TWILIO_AUTH_TOKEN


def test_log_lines_mask_openai_style_keys_including_project_keys(log_output):
    logger, output = log_output
    plain_key = "sk-" + secrets.token_urlsafe(36)
    project_key = "sk-proj-" + secrets.token_urlsafe(48).replace("-", "_") + "-T3BlbkFJ" + secrets.token_hex(8)

    logger.warning("LLM refused key %s, retrying with %s", plain_key, project_key)

    assert output.getvalue() == (
        "WARNING tests.redaction: LLM refused key [REDACTED-KEY], retrying with [REDACTED-KEY]\n"
    )


def test_log_lines_mask_the_configured_twilio_auth_token(log_output, twilio_auth_token):
    logger, output = log_output

    logger.error("Twilio rejected credentials %s", {"auth_token": twilio_auth_token})

    assert twilio_auth_token not in output.getvalue()
    assert output.getvalue() == (
        "ERROR tests.redaction: Twilio rejected credentials {'auth_token': '[REDACTED-TOKEN]'}\n"
    )


def test_log_lines_mask_basic_auth_headers_carrying_the_twilio_token(log_output, settings, twilio_auth_token):
    logger, output = log_output
    credentials = base64.b64encode(f"{settings.TWILIO_ACCOUNT_SID}:{twilio_auth_token}".encode()).decode()

    logger.info("POST /2010-04-01/Calls.json headers=%s", {"Authorization": f"Basic {credentials}"})

    assert credentials not in output.getvalue()
    assert output.getvalue() == (
        "INFO tests.redaction: POST /2010-04-01/Calls.json headers={'Authorization': 'Basic [REDACTED]'}\n"
    )


def test_log_lines_keep_words_that_only_look_like_secrets(log_output, twilio_auth_token):
    logger, output = log_output

    logger.info("a basic persona asked the task-runner about sk-1")

    assert output.getvalue() == "INFO tests.redaction: a basic persona asked the task-runner about sk-1\n"
