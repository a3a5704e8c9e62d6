"""GitHub webhook authentication: HMAC-SHA256 of the raw body with the shared secret.

The signature header (``X-Hub-Signature-256: sha256=<hex>``) is looked up case-insensitively, the body
is the raw one (base64-decoded when API Gateway says ``isBase64Encoded``), and the comparison is constant
time. Anything else is a ``SignatureError`` (HTTP 401) and nothing is stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from blueprints.dora.errors import SignatureError

SIGNATURE_HEADER = "x-hub-signature-256"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
PREFIX = "sha256="


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value, whatever the case of its name."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def raw_body(body: str | None, is_base64_encoded: bool) -> bytes:
    if body is None:
        return b""
    if not is_base64_encoded:
        return body.encode()
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("the body is not valid base64") from exc


def signature(secret: bytes, body: bytes) -> str:
    """The header value GitHub sends for ``body``."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, signature_header: str | None) -> None:
    """Raise ``SignatureError`` unless ``signature_header`` signs ``body`` with ``secret``."""
    if not secret:
        raise SignatureError("no webhook secret is configured")
    if not signature_header or not signature_header.startswith(PREFIX):
        raise SignatureError("missing or malformed X-Hub-Signature-256 header")
    if not hmac.compare_digest(signature(secret, body).encode(), signature_header.strip().encode()):
        raise SignatureError("the signature does not match the body")
