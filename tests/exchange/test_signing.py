"""The reference's worked vector (§5.1), its negative control, and what the signer must never show."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from btcbot.errors import ConfigError
from btcbot.exchange.btcturk.signing import Signer, sign

KEY = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
EXPECTED = "VFGRHRjHFaEMy5ZOq7Z0iZQP6wseThFbYpbtBMpAK7E="
WRONG_RAW_SECRET = "yzcUrs41QXcGj8ofvrssIfBcE1cyK0J6SXsSKbKpb8o="


def test_worked_vector() -> None:
    assert sign(KEY, SECRET, 1700000000000) == EXPECTED


def test_negative_control_secret_used_raw_differs() -> None:
    raw = base64.b64encode(hmac.new(SECRET.encode(), (KEY + "1700000000000").encode(), hashlib.sha256).digest())
    assert raw.decode() == WRONG_RAW_SECRET
    assert sign(KEY, SECRET, 1700000000000) != WRONG_RAW_SECRET


def test_ws_login_vector_same_scheme() -> None:
    assert sign(KEY, SECRET, 3000) == "lrJfLip7ZVI5dczoaZ9HwBn5NTQLaixUxsQC9Qe/8ec="


def test_signer_headers_and_strictly_increasing_stamps() -> None:
    signer = Signer(KEY, SECRET, now_ms=lambda: 1700000000000)
    first = signer.headers()
    second = signer.headers()
    assert first == {"X-PCK": KEY, "X-Stamp": "1700000000000", "X-Signature": EXPECTED}
    assert int(second["X-Stamp"]) == 1700000000001
    assert second["X-Signature"] == sign(KEY, SECRET, 1700000000001)


def test_signer_never_shows_secrets() -> None:
    signer = Signer(KEY, SECRET)
    for text in (repr(signer), str(signer)):
        assert KEY not in text and SECRET not in text


def test_bad_secret_is_config_error_without_echo() -> None:
    with pytest.raises(ConfigError) as info:
        Signer(KEY, "not base64 !!secretvalue")
    assert "secretvalue" not in str(info.value)
