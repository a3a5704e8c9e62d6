"""Webhook signatures: HMAC-SHA256 over the raw body, header case-insensitive, constant-time compare."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.dora.errors import SignatureError
from blueprints.dora.webhook import header, raw_body, signature, verify

SECRET = b"sample-webhook-secret"


def test_a_correct_signature_passes_and_any_other_fails() -> None:
    body = b'{"zen":"Keep it logically awesome."}'
    verify(SECRET, body, signature(SECRET, body))
    for wrong in (None, "", "sha1=abc", signature(b"other", body), signature(SECRET, body + b" ")):
        with pytest.raises(SignatureError):
            verify(SECRET, body, wrong)
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify(b"", body, signature(b"", body))


def test_headers_are_found_whatever_their_case_and_bodies_are_decoded() -> None:
    assert header({"X-Hub-Signature-256": "sha256=1"}, "x-hub-signature-256") == "sha256=1"
    assert header(None, "x") is None
    assert raw_body(base64.b64encode(b"\x00\xff").decode(), True) == b"\x00\xff"
    assert (raw_body(None, False), raw_body("é", False)) == (b"", "é".encode())
    with pytest.raises(SignatureError, match="base64"):
        raw_body("%%%", True)


@given(st.binary(max_size=300), st.binary(min_size=1, max_size=40))
def test_the_signature_of_any_body_verifies_only_that_body(body: bytes, secret: bytes) -> None:
    verify(secret, body, signature(secret, body))
    with pytest.raises(SignatureError):
        verify(secret, body + b"x", signature(secret, body))
