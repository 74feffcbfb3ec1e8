"""BTCTurk request signing as the venue checks it (REST "Authentication V1" and the WebSocket login)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

# The documented demo pair (btcturk-api.md section 5.1 test vector): the secret is base64 of bytes 0x00..0x1f.
# It is public knowledge, so printing it is harmless; any other secret is never printed or logged.
DEMO_API_KEY = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
DEMO_API_SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # noqa: S105 - documented public test vector

STAMP_TOLERANCE_MS = 5_000
MSG_HEADERS_MISSING = "Unauthorized - Headers are missing"
MSG_INVALID_KEY = "Unauthorized - Invalid Public key"
MSG_INVALID_NONCE = "Unauthorized - Invalid Nonce"
MSG_INVALID_SIGNATURE = "Unauthorized - Invalid Signature"
MSG_INVALID_REQUEST = "Unauthorized - Invalid Request"


def decode_secret(secret: str) -> bytes:
    """The HMAC key is the base64-*decoded* secret; ValueError if it is not base64."""
    try:
        return base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("API secret is not valid base64") from exc


def _hmac_b64(secret: str, message: str) -> str:
    digest = hmac.new(decode_secret(secret), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def rest_signature(api_key: str, api_secret: str, stamp_ms: int | str) -> str:
    """X-Signature = base64(HMAC_SHA256(b64decode(secret), key + stamp))."""
    return _hmac_b64(api_secret, f"{api_key}{stamp_ms}")


def ws_login_signature(api_key: str, api_secret: str, nonce: int | str) -> str:
    """WebSocket 114 login: base64(HMAC_SHA256(b64decode(secret), publicKey + str(nonce)))."""
    return _hmac_b64(api_secret, f"{api_key}{nonce}")


def signed_headers(api_key: str, api_secret: str, stamp_ms: int) -> dict[str, str]:
    return {
        "X-PCK": api_key,
        "X-Stamp": str(stamp_ms),
        "X-Signature": rest_signature(api_key, api_secret, stamp_ms),
        "Content-Type": "application/json",
    }


@dataclass(frozen=True, slots=True)
class Credential:
    api_key: str
    api_secret: str
    user_id: int

    def __repr__(self) -> str:
        return f"Credential(api_key={self.api_key!r}, api_secret='***', user_id={self.user_id})"


def verify_rest(headers: Mapping[str, str], credentials: Mapping[str, Credential], now_ms: int) -> int | str:
    """The user id of a correctly signed request, else the venue's 401 message."""
    key = headers.get("X-PCK")
    stamp = headers.get("X-Stamp")
    signature = headers.get("X-Signature")
    if not key or not stamp or not signature:
        return MSG_HEADERS_MISSING
    cred = credentials.get(key)
    if cred is None:
        return MSG_INVALID_KEY
    try:
        stamp_ms = int(stamp.strip())
    except ValueError:
        return MSG_INVALID_NONCE
    if abs(stamp_ms - now_ms) > STAMP_TOLERANCE_MS:
        return MSG_INVALID_NONCE
    try:
        base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return MSG_INVALID_REQUEST
    expected = rest_signature(cred.api_key, cred.api_secret, stamp.strip())
    if not hmac.compare_digest(expected, signature.strip()):
        return MSG_INVALID_SIGNATURE
    return cred.user_id


def verify_ws_login(body: Mapping[str, object], credentials: Mapping[str, Credential]) -> int | None:
    """User id for a valid 114 login (documented publicKey+nonce form; publicKey+timestamp also accepted)."""
    key = body.get("publicKey")
    signature = body.get("signature")
    if not isinstance(key, str) or not isinstance(signature, str):
        return None
    cred = credentials.get(key)
    if cred is None:
        return None
    for field in ("nonce", "timestamp"):
        value = body.get(field)
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            expected = ws_login_signature(cred.api_key, cred.api_secret, value)
            if hmac.compare_digest(expected, signature):
                return cred.user_id
    return None
