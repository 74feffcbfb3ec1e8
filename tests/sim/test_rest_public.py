"""Public REST endpoints against the recorded reference shapes."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest


def test_server_time_is_bare_json_near_now(api, shape):
    before_ms = time.time_ns() // 1_000_000
    resp = api.get("/api/v2/server/time")
    after_ms = time.time_ns() // 1_000_000
    assert resp.status_code == 200
    body = resp.json()
    shape(body, "server_time.json")
    assert "success" not in body
    assert before_ms <= body["serverTime"] <= after_ms  # read while the request was in flight, however long


def test_ping_is_bare_json(api, shape):
    resp = api.get("/api/v2/server/ping")
    assert resp.status_code == 200
    shape(resp.json(), "server_ping.json")
    assert resp.json() == {"pong": True}


def test_exchangeinfo_shape_and_rules(api, shape):
    resp = api.get("/api/v2/server/exchangeinfo")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    shape(body, "exchangeinfo.json")
    assert body["code"] == 0 and body["success"] is True
    by_name = {s["name"]: s for s in body["data"]["symbols"]}
    assert set(by_name) == {"BTCTRY", "ETHTRY", "ETHBTC", "BTCUSDT"}
    btc = by_name["BTCTRY"]
    assert btc["hasFraction"] is False and btc["numeratorScale"] == 8
    assert btc["filters"][0]["minExchangeValue"] == "99.91"
    assert btc["minimumLimitOrderPrice"] < 3_800_000 < btc["maximumLimitOrderPrice"]
    assert by_name["ETHTRY"]["hasFraction"] is True and by_name["ETHTRY"]["denominatorScale"] == 2


@pytest.mark.parametrize("path", ["/api/v2/ticker", "/API/V2/TICKER", "/api/v2/ticker/"])
def test_ticker_numbers_and_case_insensitive_route(api, shape, path):
    resp = api.get(path)
    assert resp.status_code == 200
    body = resp.json()
    shape(body, "ticker.json")
    assert {row["pair"] for row in body["data"]} == {"BTCTRY", "ETHTRY", "ETHBTC", "BTCUSDT"}
    row = next(r for r in body["data"] if r["pair"] == "BTCTRY")
    assert isinstance(row["bid"], int) and row["bid"] < row["ask"]


def test_ticker_filters_and_unknown_pair_is_empty(api):
    one = api.get("/api/v2/ticker?pairSymbol=btc_try").json()["data"]
    assert [r["pair"] for r in one] == ["BTCTRY"]
    assert api.get("/api/v2/ticker?pairSymbol=NOPEUSDT").json()["data"] == []
    usdt = api.get("/api/v2/ticker/currency?symbol=usdt").json()["data"]
    assert [r["pair"] for r in usdt] == ["BTCUSDT"]


@pytest.mark.parametrize("pair", ["BTCTRY", "BTC_TRY", "btctry"])
def test_orderbook_shape_sorted_and_pair_spellings(api, shape, pair):
    resp = api.get(f"/api/v2/orderBook?pairSymbol={pair}")
    assert resp.status_code == 200
    body = resp.json()
    shape(body, "orderbook.json")
    bids = [Decimal(p) for p, _ in body["data"]["bids"]]
    asks = [Decimal(p) for p, _ in body["data"]["asks"]]
    assert len(bids) >= 20 and len(asks) >= 20
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]


def test_orderbook_limit_and_errors(api, shape):
    assert len(api.get("/api/v2/orderbook?pairSymbol=BTCTRY&limit=3").json()["data"]["bids"]) == 3
    missing = api.get("/api/v2/orderbook")
    assert missing.status_code == 400
    assert missing.json() | {} == {"data": None, "success": False, "message": "INVALID_REQUEST_ERROR", "code": 1037}
    unknown = api.get("/api/v2/orderbook?pairSymbol=NOPEUSDT")
    assert unknown.status_code == 400
    shape(unknown.json(), "error.json")
    assert unknown.json()["message"] == "Pair NOPEUSDT does not exists." and unknown.json()["code"] == 1037


def test_trades_shape_after_market_moves(api, shape):
    api.control("/sim/tick", {"n": 20})
    resp = api.get("/api/v2/trades?pairSymbol=BTCTRY&last=5")
    assert resp.status_code == 200
    body = resp.json()
    shape(body, "trades.json")
    assert 1 <= len(body["data"]) <= 5
    assert all(row["side"] in ("buy", "sell") for row in body["data"])
    dates = [row["date"] for row in body["data"]]
    assert dates == sorted(dates, reverse=True)


def test_graph_klines_tolerates_negative_from(api, shape):
    now = int(time.time())
    resp = api.get(f"/v1/klines/history?symbol=BTCTRY&resolution=60&from=-32400&to={now}")
    assert resp.status_code == 200
    body = resp.json()
    shape(body, "klines_history.json")
    assert body["s"] == "ok" and len(body["t"]) == len(body["c"]) > 0
    assert all(b - a == 3600 for a, b in zip(body["t"], body["t"][1:], strict=False))
    daily = api.get("/v1/klines/history?symbol=BTCTRY&resolution=1 d").json()
    assert daily["s"] == "ok"


def test_graph_ohlcs_daily(api, shape):
    resp = api.get("/v1/ohlcs?pair=BTCTRY")
    assert resp.status_code == 200
    shape(resp.json(), "ohlcs.json")
    assert all(row["time"] % 86400 == 0 for row in resp.json())


def test_unknown_route_is_404_with_empty_body_and_wrong_method_405(api):
    resp = api.get("/api/v2/nothing-here")
    assert resp.status_code == 404 and resp.content == b""
    wrong = api.session.post(api.base + "/api/v2/ticker", timeout=5)
    assert wrong.status_code == 405
    put = api.session.put(api.base + "/api/v1/order", timeout=5)
    assert put.status_code == 405


def test_graph_far_past_or_unknown_is_no_data(api):
    assert api.get("/v1/klines/history?symbol=BTCTRY&resolution=1&from=0&to=100000").json() == {"s": "no_data"}
    assert api.get("/v1/klines/history?symbol=NOPE&resolution=60").json() == {"s": "no_data"}
    assert api.get("/v1/ohlcs?pair=NOPE").json() == []
