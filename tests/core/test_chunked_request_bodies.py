"""Request bodies over a real socket: sent chunked (no Content-Length) they are read, parsed
and held to `MAX_REQUEST_BODY_BYTES` by the bytes that arrive; a declared length over the
limit is refused without reading the body."""

import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from accounts.models import User
from tests.accounts.test_auth_api import registration

CHUNK_BYTES = 64 * 1024


def chunks_of(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), CHUNK_BYTES):
        yield body[start : start + CHUNK_BYTES]


def post_chunked(server_url: str, path: str, body: bytes) -> tuple[int, dict]:
    """POSTs `body` as `Transfer-Encoding: chunked` (http.client does so for an iterator
    with no length) and returns the status and the decoded JSON answer."""
    address = urlsplit(server_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(
            "POST", path, body=chunks_of(body), headers={"Content-Type": "application/json"}, encode_chunked=True
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_small_chunked_json_register_and_login_are_parsed(asgi_server):
    registered_status, registered = post_chunked(
        asgi_server.url, "/api/auth/register", json.dumps(registration()).encode()
    )
    login_status, logged_in = post_chunked(
        asgi_server.url,
        "/api/auth/login",
        json.dumps({"email": "user@example.com", "password": "SecurePass123!"}).encode(),
    )

    assert registered_status == 201, registered
    assert User.objects.filter(email="user@example.com").exists()
    assert login_status == 200, logged_in
    assert logged_in["token"]


@pytest.mark.parametrize("size", [settings.MAX_REQUEST_BODY_BYTES + 1, 50 * 1024 * 1024])
def test_chunked_body_over_the_limit_is_413_in_the_envelope_and_writes_nothing(asgi_server, size):
    body = json.dumps(registration(name="x" * size)).encode()

    status, answer = post_chunked(asgi_server.url, "/api/auth/register", body)

    assert status == 413, answer
    assert answer["error"] == "PAYLOAD_TOO_LARGE"
    assert answer["message"] == "Request body is larger than 1 MB."
    assert not User.objects.exists()


def test_declared_length_over_the_limit_is_413_before_the_body_is_sent(asgi_server):
    """Only the head and a first few bytes go out: the answer comes without the server
    waiting for the 50 MB the header promises."""
    address = urlsplit(asgi_server.url)
    head = (
        "POST /api/auth/register HTTP/1.1\r\n"
        f"Host: {address.netloc}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head.encode() + b'{"name": "')
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = json.loads(response.read())

    assert response.status == 413, answer
    assert answer["error"] == "PAYLOAD_TOO_LARGE"
    assert not User.objects.exists()
