"""BTCTurk REST request signing (Authentication V1).

The signature covers only ``api_key + stamp`` (not the method, path or body); the secret is base64 and is
*decoded* before use as the HMAC key. Stamps are milliseconds and strictly increasing per signer, because the
venue may refuse a stamp it has already seen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections.abc import Callable

from btcbot.errors import ConfigError
from btcbot.settings import credential_problem


def sign(api_key: str, secret_b64: str, stamp_ms: int) -> str:
    """base64(HMAC_SHA256(base64decode(secret), api_key + stamp))."""
    return _sign_with_key(api_key, _decode_secret(secret_b64), stamp_ms)


def _decode_secret(secret_b64: str) -> bytes:
    try:
        return base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        # Never echo the secret, not even part of it.
        raise ConfigError(
            "BTCTURK_API_SECRET is not valid base64; copy the private key exactly as BTCTurk shows it"
        ) from None


def _sign_with_key(api_key: str, key: bytes, stamp_ms: int) -> str:
    digest = hmac.new(key, (api_key + str(stamp_ms)).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Signer:
    """Produces the X-PCK / X-Stamp / X-Signature headers. Holds the decoded secret; never shows it."""

    __slots__ = ("_api_key", "_key", "_last_stamp", "_lock", "_now_ms")

    def __init__(self, api_key: str, secret_b64: str, *, now_ms: Callable[[], int] | None = None) -> None:
        if not api_key:
            raise ConfigError("BTCTURK_API_KEY is empty; set it (and BTCTURK_API_SECRET) for private calls")
        # Settings refuse these at load; a key handed in directly must not reach a header either.
        problem = credential_problem(api_key, base64_secret=False)
        if problem:
            raise ConfigError(f"BTCTURK_API_KEY: {problem}")
        self._api_key = api_key
        self._key = _decode_secret(secret_b64)
        self._last_stamp = 0
        self._lock = threading.Lock()
        # Signing uses local time: the clock check (measure_clock_offset) tells the operator when it drifts.
        self._now_ms: Callable[[], int] = now_ms or (lambda: time.time_ns() // 1_000_000)

    def headers(self) -> dict[str, str]:
        with self._lock:
            stamp = max(self._now_ms(), self._last_stamp + 1)
            self._last_stamp = stamp
        return {
            "X-PCK": self._api_key,
            "X-Stamp": str(stamp),
            "X-Signature": _sign_with_key(self._api_key, self._key, stamp),
        }

    def __repr__(self) -> str:
        return "Signer(api_key=***, secret=***)"

    __str__ = __repr__
