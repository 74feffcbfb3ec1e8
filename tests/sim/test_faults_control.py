"""Every control-API fault shown on the wire, plus the other /sim/ endpoints and rate limits."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
import websocket


def _order_body(price, qty="0.001"):
    return {"orderType": "buy", "orderMethod": "limit", "pairSymbol": "BTCTRY", "quantity": qty, "price": str(price)}


def _bid(api):
    return Decimal(api.book()["bids"][0][0])


def test_faults_get_post_merge_and_reject_unknown(api):
    defaults = api.control("/sim/faults")
    assert defaults["latency_ms"] == 0 and defaults["ws_stall"] is False
    merged = api.control("/sim/faults", {"latency_ms": 5})
    assert merged["latency_ms"] == 5 and merged["error_rate"] == 0.0
    bad = api.session.post(api.base + "/sim/faults", json={"no_such_fault": True}, timeout=5)
    assert bad.status_code == 400 and "no_such_fault" in bad.json()["error"]
    assert api.session.post(api.base + "/sim/faults", json={"error_rate": 2}, timeout=5).status_code == 400


def test_latency(api):
    api.control("/sim/faults", {"latency_ms": 250})
    t0 = time.perf_counter()
    assert api.get("/api/v2/server/time").status_code == 200
    # A lower bound on the injected delay: load can only lengthen the request, so this never fails by chance.
    assert time.perf_counter() - t0 >= 0.25


def test_error_rate_answers_5xx_and_books_nothing(api):
    api.control("/sim/faults", {"error_rate": 1.0})
    resp = api.post("/api/v1/order", _order_body(3_000_000))
    assert resp.status_code == 500
    assert resp.json()["success"] is False
    assert api.get("/api/v2/ticker").status_code == 500
    api.control("/sim/faults", {"error_rate": 0.0})
    assert api.pget("/api/v1/openOrders").json()["data"]["bids"] == []


def test_forced_rate_limit(api):
    api.control("/sim/faults", {"rate_limit": True})
    resp = api.get("/api/v2/orderbook?pairSymbol=BTCTRY")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
    assert resp.json()["code"] == 429 and resp.json()["success"] is False


def test_drop_order_response_books_the_order_but_never_answers(api):
    api.control("/sim/faults", {"drop_order_response": True})
    bid = _bid(api)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(api.base + "/api/v1/order", headers=api.headers(), json=_order_body(bid - 20000), timeout=0.4)
    api.control("/sim/faults", {"drop_order_response": False})
    [row] = api.pget("/api/v1/openOrders?pairSymbol=BTCTRY").json()["data"]["bids"]
    assert Decimal(row["price"]) == bid - 20000
    dropped = [r for r in api.control("/sim/requests") if r["method"] == "POST"]
    assert dropped[-1]["status"] == 0 and dropped[-1]["authenticated"] is True


def test_reject_orders(api, shape):
    api.control("/sim/faults", {"reject_orders": True})
    resp = api.post("/api/v1/order", _order_body(_bid(api) - 10000))
    assert resp.status_code == 400
    shape(resp.json(), "error_order.json")
    assert resp.json()["message"] == "FAILED_LIMIT_ORDER" and resp.json()["code"] == 1120
    market = api.post("/api/v1/order", {"orderType": "buy", "orderMethod": "market", "pairSymbol": "BTCTRY",
                                        "quantity": "500"})  # fmt: skip
    assert market.json()["code"] == 1118


def test_freeze_market_data(api, ws_factory):
    ws = ws_factory()
    ws.recv()
    ws.subscribe("obdiff", "BTCTRY")
    ws.recv_type(431)
    api.control("/sim/faults", {"freeze_market_data": True})
    before = api.get("/api/v2/orderbook?pairSymbol=BTCTRY").json()["data"]
    ticker_before = api.get("/api/v2/ticker?pairSymbol=BTCTRY").json()["data"][0]
    time.sleep(0.02)  # not waiting for anything: the clock moves on, so an unfrozen book would be stamped later
    api.control("/sim/tick", {"n": 10})
    after = api.get("/api/v2/orderbook?pairSymbol=BTCTRY").json()["data"]
    ticker_after = api.get("/api/v2/ticker?pairSymbol=BTCTRY").json()["data"][0]
    assert after == before
    assert ticker_after["timestamp"] == ticker_before["timestamp"] and ticker_after["last"] == ticker_before["last"]
    assert api.control("/sim/state")["ticks"] == 0
    # No 432 while frozen: the socket is ordered, so one queued by the ticks would arrive before this answer.
    ws.send([151, {"type": 151, "channel": "ticker", "event": "BTCTRY", "join": True}])
    assert ws.recv()[:2] == [100, {"type": 100, "id": 0, "ok": True, "message": "join|ticker:BTCTRY"}]
    api.control("/sim/faults", {"freeze_market_data": False})
    api.control("/sim/tick", {"n": 3})
    assert ws.recv_type(432)[1]["PS"] == "BTCTRY"
    assert api.get("/api/v2/orderbook?pairSymbol=BTCTRY").json()["data"]["timestamp"] > before["timestamp"]


@pytest.mark.parametrize("fault", ["crossed_book", "zero_bid"])
def test_invalid_best_bid_everywhere(api, ws_factory, fault):
    ws = ws_factory()
    ws.recv()
    ws.subscribe("obdiff", "BTCTRY")
    ws.recv_type(431)
    api.control("/sim/faults", {fault: True})
    book = api.book()
    bid, ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
    ticker = api.get("/api/v2/ticker?pairSymbol=BTCTRY").json()["data"][0]
    api.control("/sim/tick", {"n": 0})  # publish
    diff = ws.recv_type(432)[1]
    if fault == "crossed_book":
        assert bid >= ask and ticker["bid"] >= ticker["ask"]
        assert any(Decimal(c["P"]) >= ask and c["CP"] == 1 for c in diff["BO"])
    else:
        assert bid == 0 and book["bids"][0][0] == "0" and ticker["bid"] == 0
        assert any(c["P"] == "0" for c in diff["BO"])
    ws.subscribe("ticker", "BTCTRY")
    t = ws.recv_type(402)[1]
    assert (Decimal(t["B"]) >= Decimal(t["A"])) if fault == "crossed_book" else t["B"] == "0"


def test_ws_disconnect_closes_and_refuses_until_cleared(sim, api, ws_factory):
    ws = ws_factory()
    ws.recv()
    api.control("/sim/faults", {"ws_disconnect": True})
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        for _ in range(5):
            if ws.conn.recv() == "":
                raise websocket.WebSocketConnectionClosedException("closed")
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(sim.ws_url, timeout=5)
    api.control("/sim/faults", {"ws_disconnect": False})
    again = ws_factory()
    assert again.recv()[0] == 991


def test_ws_stall_keeps_socket_open_but_silent(api, ws_factory):
    ws = ws_factory()
    ws.recv()
    api.control("/sim/faults", {"ws_stall": True})
    ws.send([151, {"type": 151, "channel": "obdiff", "event": "BTCTRY", "join": True}])
    api.control("/sim/tick", {"n": 5})
    # Silence has no event to wait for: a short window that load can only make easier to pass, never fail.
    ws.conn.settimeout(0.3)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    assert ws.conn.connected
    ws.conn.settimeout(5)
    api.control("/sim/faults", {"ws_stall": False})
    api.control("/sim/tick", {"n": 1})
    assert ws.recv_type(431)[1]["PS"] == "BTCTRY"  # the subscriber catches up with a full book


def test_clock_skew_moves_server_time_and_the_auth_window(api):
    api.control("/sim/faults", {"clock_skew_ms": 10_000})
    before_ms = time.time_ns() // 1_000_000
    server = api.get("/api/v2/server/time").json()["serverTime"]
    after_ms = time.time_ns() // 1_000_000
    assert before_ms + 10_000 <= server <= after_ms + 10_000
    resp = api.pget("/api/v1/users/balances")
    assert resp.status_code == 401 and resp.json()["message"] == "Unauthorized - Invalid Nonce"
    api.stamp_offset_ms = 10_000
    assert api.pget("/api/v1/users/balances").status_code == 200


def test_auth_success_true_variant(api):
    api.control("/sim/faults", {"auth_success_true": True})
    resp = api.session.get(api.base + "/api/v1/users/balances", timeout=5)
    assert resp.status_code == 401 and resp.json()["success"] is True


def test_state_requests_market_tick_reset(api):
    state = api.control("/sim/state")
    assert set(state["symbols"]) == {"BTCTRY", "ETHTRY", "ETHBTC", "BTCUSDT"}
    assert state["accounts"][0]["balances"]["TRY"] == {"free": "1000000", "locked": "0"}
    assert api.sim.api_secret not in str(state)
    api.get("/api/v2/ticker")
    api.pget("/api/v1/users/balances")
    log = api.control("/sim/requests")
    assert [(r["method"], r["path"], r["status"], r["authenticated"]) for r in log] == [
        ("GET", "/api/v2/ticker", 200, False),
        ("GET", "/api/v1/users/balances", 200, True),
    ]
    assert all(isinstance(r["ts_ms"], int) for r in log)
    first_book = api.book()
    assert api.control("/sim/tick", {"n": 4})["ticks"] == 4
    assert api.session.post(api.base + "/sim/tick", json={"n": -1}, timeout=5).status_code == 400
    api.control("/sim/market", {"symbol": "BTCTRY", "mid": "4000000"})
    book = api.book()
    assert Decimal(book["bids"][0][0]) < 4_000_000 < Decimal(book["asks"][0][0])
    assert api.session.post(api.base + "/sim/market", json={"symbol": "NOPE", "mid": 1}, timeout=5).status_code == 400
    api.order("buy", Decimal(book["bids"][0][0]) - 10000, "0.001")
    api.control("/sim/faults", {"latency_ms": 1})
    api.control("/sim/reset", {})
    fresh = api.control("/sim/state")
    assert fresh["ticks"] == 0 and fresh["accounts"][0]["open_orders"] == 0
    assert fresh["faults"]["latency_ms"] == 0 and api.control("/sim/requests") == []
    assert fresh["symbols"]["BTCTRY"]["mid"] == state["symbols"]["BTCTRY"]["mid"]
    after = api.book()
    assert (after["bids"], after["asks"]) == (first_book["bids"], first_book["asks"])  # same seed, same book
    assert api.session.get(api.base + "/sim/nothing", timeout=5).status_code == 404


def test_rate_limit_order_submits_per_second(api, shape):
    bid = _bid(api)
    statuses = [api.post("/api/v1/order", _order_body(bid - 20000 - i * 10)).status_code for i in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    resp = api.post("/api/v1/order", _order_body(bid - 30000))
    assert resp.status_code == 429
    shape(resp.json(), "rate_limited.json")
    body = resp.json()
    assert body["limit"] == "10" and body["period"] == "1s" and body["policy"] == "account"
    assert 1 <= int(resp.headers["Retry-After"]) <= 1


def test_rate_limit_orderbook_per_minute(api):
    codes = [api.get("/api/v2/orderbook?pairSymbol=BTCTRY").status_code for _ in range(181)]
    assert codes.count(200) == 180 and codes[-1] == 429
    last = api.get("/api/v2/orderbook?pairSymbol=BTCTRY")
    assert last.json()["limit"] == "180" and last.json()["period"] == "1m" and last.json()["policy"] == "ip"
    assert 1 <= int(last.headers["Retry-After"]) <= 60
    assert api.get("/api/v2/server/time").status_code == 200  # unlisted endpoints are not limited


def test_same_seed_same_market_over_the_wire(api_for):
    from btcbot.sim import Simulator

    books = []
    for _ in range(2):
        with Simulator(seed=11, market_tick_ms=0) as sim:
            client = api_for(sim)
            client.control("/sim/tick", {"n": 25})
            book = client.book()
            books.append((book["bids"], book["asks"], client.get("/api/v2/trades?pairSymbol=BTCTRY").json()["data"]))
    assert books[0][:2] == books[1][:2]
    assert [(t["price"], t["amount"], t["side"]) for t in books[0][2]] == [
        (t["price"], t["amount"], t["side"]) for t in books[1][2]
    ]
