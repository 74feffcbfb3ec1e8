"""REST authentication exactly as BTCTurk checks it, with each documented 401 message."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, rest_signature, ws_login_signature


def test_documented_test_vectors():
    assert (
        rest_signature(DEMO_API_KEY, DEMO_API_SECRET, 1700000000000) == "VFGRHRjHFaEMy5ZOq7Z0iZQP6wseThFbYpbtBMpAK7E="
    )
    assert ws_login_signature(DEMO_API_KEY, DEMO_API_SECRET, 3000) == "lrJfLip7ZVI5dczoaZ9HwBn5NTQLaixUxsQC9Qe/8ec="


def _raw(api, headers):
    return api.session.get(api.base + "/api/v1/users/balances", headers=headers, timeout=5)


def _now() -> str:
    return str(int(time.time() * 1000))


def _sign_raw_secret(key: str, secret: str, stamp: str) -> str:
    # The classic client bug: the secret used as text instead of base64-decoded.
    return base64.b64encode(hmac.new(secret.encode(), (key + stamp).encode(), hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "Unauthorized - Headers are missing"),
        ("bad_key", "Unauthorized - Invalid Public key"),
        ("stale", "Unauthorized - Invalid Nonce"),
        ("future", "Unauthorized - Invalid Nonce"),
        ("garbled_stamp", "Unauthorized - Invalid Nonce"),
        ("raw_secret", "Unauthorized - Invalid Signature"),
        ("not_base64", "Unauthorized - Invalid Request"),
    ],
)
def test_each_401_message(api, shape, case, message):
    key, secret = api.sim.api_key, api.sim.api_secret
    stamp = _now()
    headers = {"X-PCK": key, "X-Stamp": stamp, "X-Signature": rest_signature(key, secret, stamp)}
    if case == "missing":
        headers.pop("X-Signature")
    elif case == "bad_key":
        headers["X-PCK"] = "00000000-0000-0000-0000-000000000000"
    elif case in ("stale", "future"):
        stamp = str(int(stamp) + (-6000 if case == "stale" else 6000))
        headers.update({"X-Stamp": stamp, "X-Signature": rest_signature(key, secret, stamp)})
    elif case == "garbled_stamp":
        headers["X-Stamp"] = "yesterday"
    elif case == "raw_secret":
        headers["X-Signature"] = _sign_raw_secret(key, secret, stamp)
    elif case == "not_base64":
        headers["X-Signature"] = "%%%not-base64%%%"
    resp = _raw(api, headers)
    assert resp.status_code == 401
    shape(resp.json(), "unauthorized.json")
    assert resp.json() == {"success": False, "message": message, "code": 1037}
    log = api.control("/sim/requests")
    assert log[-1]["status"] == 401 and log[-1]["authenticated"] is False


def test_valid_signature_inside_window_is_accepted(api):
    key, secret = api.sim.api_key, api.sim.api_secret
    stamp = str(int(_now()) - 4000)
    resp = _raw(api, {"X-PCK": key, "X-Stamp": stamp, "X-Signature": rest_signature(key, secret, stamp)})
    assert resp.status_code == 200 and resp.json()["code"] == 0
    assert api.control("/sim/requests")[-1]["authenticated"] is True


def test_public_endpoints_need_no_headers_and_private_all_do(api):
    assert api.get("/api/v2/ticker").status_code == 200
    for method, path in [
        ("GET", "/api/v1/users/balances"),
        ("GET", "/api/v1/openOrders"),
        ("GET", "/api/v1/allOrders?pairSymbol=BTCTRY"),
        ("GET", "/api/v1/order/1"),
        ("POST", "/api/v1/order"),
        ("DELETE", "/api/v1/order?id=1"),
        ("GET", "/api/v1/users/transactions/trade"),
    ]:
        resp = api.session.request(method, api.base + path, timeout=5)
        assert resp.status_code == 401, path
        assert resp.json()["message"] == "Unauthorized - Headers are missing"


def test_configured_credentials_replace_the_demo_pair():
    from btcbot.sim import Simulator

    secret = base64.b64encode(b"k" * 32).decode()
    with Simulator(api_key="operator-key", api_secret=secret, market_tick_ms=0) as sim:
        import requests

        stamp = _now()
        good = {"X-PCK": "operator-key", "X-Stamp": stamp, "X-Signature": rest_signature("operator-key", secret, stamp)}
        demo = {
            "X-PCK": DEMO_API_KEY,
            "X-Stamp": stamp,
            "X-Signature": rest_signature(DEMO_API_KEY, DEMO_API_SECRET, stamp),
        }
        with requests.Session() as s:
            s.trust_env = False
            assert s.get(sim.rest_url + "/api/v1/users/balances", headers=good, timeout=5).status_code == 200
            bad = s.get(sim.rest_url + "/api/v1/users/balances", headers=demo, timeout=5)
            assert bad.status_code == 401 and bad.json()["message"] == "Unauthorized - Invalid Public key"
        assert secret not in repr(sim)
