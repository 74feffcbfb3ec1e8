"""The reference's worked vector (§5.1), its negative control, and what the signer must never show."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

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


def test_stamps_never_repeat_or_go_back_when_the_clock_does() -> None:
    clock = iter([1000, 900, 1000, 1500, 0])
    signer = Signer(KEY, SECRET, now_ms=lambda: next(clock))
    assert [signer.headers()["X-Stamp"] for _ in range(5)] == ["1000", "1001", "1002", "1500", "1501"]


def test_the_first_stamp_is_the_clock_itself_and_never_zero() -> None:
    assert Signer(KEY, SECRET, now_ms=lambda: 1).headers()["X-Stamp"] == "1"
    assert Signer(KEY, SECRET, now_ms=lambda: 0).headers()["X-Stamp"] == "1"


def test_the_default_clock_is_wall_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    stamp = int(Signer(KEY, SECRET).headers()["X-Stamp"])
    after = time.time_ns() // 1_000_000
    assert before <= stamp <= after


def test_each_header_is_signed_with_its_own_stamp() -> None:
    signer = Signer(KEY, SECRET, now_ms=lambda: 3000)
    signer.headers()
    second = signer.headers()
    assert second == {"X-PCK": KEY, "X-Stamp": "3001", "X-Signature": sign(KEY, SECRET, 3001)}


def test_an_empty_key_is_refused_with_what_to_set() -> None:
    with pytest.raises(ConfigError) as info:
        Signer("", SECRET)
    assert str(info.value) == "BTCTURK_API_KEY is empty; set it (and BTCTURK_API_SECRET) for private calls"


def test_a_key_that_cannot_be_a_header_is_refused_by_name() -> None:
    with pytest.raises(ConfigError) as info:
        Signer(KEY + "\n", SECRET)
    assert str(info.value).startswith("BTCTURK_API_KEY: contains whitespace or a control character")


def test_a_bad_secret_says_what_to_do() -> None:
    for signing in (lambda: Signer(KEY, "%%%%"), lambda: sign(KEY, "%%%%", 1)):
        with pytest.raises(ConfigError) as info:
            signing()
        assert str(info.value) == (
            "BTCTURK_API_SECRET is not valid base64; copy the private key exactly as BTCTurk shows it"
        )


def test_the_signer_shows_only_stars() -> None:
    signer = Signer(KEY, SECRET)
    assert repr(signer) == str(signer) == "Signer(api_key=***, secret=***)"
