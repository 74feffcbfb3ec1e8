"""The WebSocket feed: control frames, public channels, book rebuild, login and private order events."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import websocket

from btcbot.sim import ws_login_signature


def _login(ws, sim, signature=None):
    sig = signature or ws_login_signature(sim.api_key, sim.api_secret, 3000)
    ws.send([114, {"type": 114, "publicKey": sim.api_key, "timestamp": int(time.time() * 1000), "nonce": 3000,
                   "signature": sig}])  # fmt: skip
    return ws.recv_type(114)


def test_version_frame_then_subscribe_result(ws_factory, shape):
    ws = ws_factory()
    first = ws.recv()
    shape(first, "ws_991.json")
    result = ws.subscribe("orderbook", "BTCTRY")
    shape(result, "ws_100.json")
    assert result[1] == {"type": 100, "id": 0, "ok": True, "message": "join|orderbook:BTCTRY"}
    book = ws.recv_type(431)
    shape(book, "ws_431.json")
    assert book[1]["channel"] == "orderbook" and book[1]["PS"] == "BTCTRY"


def test_duplicate_join_unknown_pair_and_leave(ws_factory):
    ws = ws_factory()
    ws.recv()
    assert ws.subscribe("obdiff", "BTCTRY")[1]["ok"] is True
    ws.recv_type(431)
    dup = ws.subscribe("obdiff", "BTCTRY")
    assert dup[1]["ok"] is False and dup[1]["message"] == "join|obdiff:BTCTRY"
    # Unknown pair, wrong case and unknown channel: acknowledged, then silence.
    for channel, event in [("obdiff", "NOPETRY"), ("orderbook", "btctry"), ("candles", "BTCTRY")]:
        assert ws.subscribe(channel, event)[1]["ok"] is True
    # Frames that are not [type, object] get no reply at all.
    ws.send({"type": 151})
    ws.send([151, {"type": 151, "channel": "orderbook", "event": ["BTCTRY"], "join": True}])
    ws.conn.send("not json")
    leave = ws.subscribe("obdiff", "BTCTRY", join=False)
    assert leave[1] == {"type": 100, "id": 0, "ok": True, "message": "leave|obdiff:BTCTRY"}


def _apply(book, frame):
    bids, asks = book
    for side, key in ((bids, "BO"), (asks, "AO")):
        for change in frame[key]:
            price = Decimal(change["P"])
            if change["CP"] == 3:
                del side[price]
            else:
                assert change["CP"] in (0, 1)
                assert (price in side) == (change["CP"] == 0), change
                side[price] = change["A"]


def _rest_view(api, pair="BTCTRY"):
    data = api.book(pair)
    return ({Decimal(p): a for p, a in data["bids"]}, {Decimal(p): a for p, a in data["asks"]})


def test_book_rebuilt_from_431_and_432_equals_rest_book(api, ws_factory, shape):
    ws = ws_factory()
    ws.recv()
    ws.subscribe("obdiff", "BTCTRY")
    full = ws.recv_type(431)
    book = ({Decimal(x["P"]): x["A"] for x in full[1]["BO"]}, {Decimal(x["P"]): x["A"] for x in full[1]["AO"]})
    assert book == _rest_view(api)
    cs = full[1]["CS"]
    diffs = 0
    bid = Decimal(api.book()["bids"][0][0])
    for step in range(12):
        if step % 3 == 0:
            api.order("buy", bid - 1500 - step * 100, "0.001")
        else:
            api.control("/sim/tick", {"n": 1 + step % 2})
        expected = _rest_view(api)
        for _ in range(20):  # a step moves the book once or twice; a 432 per change
            if book == expected:
                break
            frame = ws.recv_type(432)
            shape(frame, "ws_432.json")
            assert frame[1]["CS"] == cs + 1, "CS must rise by exactly 1 per 432"
            cs = frame[1]["CS"]
            _apply(book, frame[1])
            diffs += 1
        assert book == expected
    assert diffs >= 5
    bids = sorted(book[0], reverse=True)
    assert bids[0] < min(book[1]) and len(bids) >= 20


def test_ticker_and_trade_channels(api, ws_factory, shape):
    ws = ws_factory()
    ws.recv()
    ws.subscribe("ticker", "BTCTRY")
    shape(ws.recv_type(402), "ws_402.json")
    ws.subscribe("ticker", "all")
    all_frame = ws.recv_type(401)
    shape(all_frame, "ws_401.json")
    assert {i["PS"] for i in all_frame[1]["items"]} == {"BTCTRY", "ETHTRY", "ETHBTC", "BTCUSDT"}
    api.control("/sim/tick", {"n": 10})
    ws2 = ws_factory()
    ws2.recv()
    ws2.subscribe("trade", "BTCTRY")
    listing = ws2.recv_type(421)
    shape(listing, "ws_421.json")
    assert 0 < len(listing[1]["items"]) <= 50
    _, ask = Decimal(api.book()["bids"][0][0]), Decimal(api.book()["asks"][0][0])
    api.order("buy", ask, "0.0005")
    single = ws2.recv_type(422)
    shape(single, "ws_422.json")
    assert single[1]["PS"] == "BTCTRY" and single[1]["S"] == 1 and Decimal(single[1]["P"]) == ask


def test_login_result_and_bad_signature(ws_factory, sim, shape):
    ws = ws_factory()
    ws.recv()
    bad = _login(ws, sim, signature="AAAA")
    shape(bad, "ws_114.json")
    assert bad[1]["ok"] is False
    good = _login(ws, sim)
    assert good[1]["type"] == 114 and good[1]["ok"] is True


def test_private_events_insert_match_update_delete(api, ws_factory, sim, shape):
    ws = ws_factory()
    ws.recv()
    assert _login(ws, sim)[1]["ok"] is True
    book = api.book()
    ask_price, ask_qty = Decimal(book["asks"][0][0]), Decimal(book["asks"][0][1])
    # A sell that joins the best ask behind the market's quote, then a buy big enough to part-fill it.
    sell = api.order("sell", ask_price, "0.002")
    insert = ws.recv_type(451)
    shape(insert, "ws_451.json")
    assert insert[1]["id"] == sell["id"] and insert[1]["orderType"] == 1 and insert[1]["userId"] == sim.user_id
    api.order("buy", ask_price, ask_qty + Decimal("0.001"))
    match = ws.recv_type(441)
    shape(match, "ws_441.json")
    trade = ws.recv_type(423)
    shape(trade, "ws_423.json")
    # Our own buy is filled first by the market's quote, then crosses our own sell (a self-trade).
    frames = [match, trade]
    while not any(f[0] == 453 and f[1]["id"] == sell["id"] for f in frames):
        assert len(frames) < 50, [f[0] for f in frames]
        frames.append(ws.recv())
    update = next(f for f in frames if f[0] == 453 and f[1]["id"] == sell["id"])
    shape([451, update[1]], "ws_451.json")  # 451, 452 and 453 share one model
    assert update[1]["numLeft"] == "0.001"
    assert api.delete(f"/api/v1/order?id={sell['id']}").status_code == 200
    delete = ws.recv_type(452)
    while delete[1]["id"] != sell["id"]:  # the fully filled buy left the book first
        delete = ws.recv_type(452)
    shape([451, delete[1]], "ws_451.json")
    assert delete[1]["numLeft"] == "0.0010000000000000"  # 452 prints 16 digits
    assert api.pget(f"/api/v1/order/{sell['id']}").json()["data"]["status"] == "Canceled"


def test_unauthenticated_socket_gets_no_private_events(api, ws_factory):
    ws = ws_factory()
    ws.recv()
    bid = Decimal(api.book()["bids"][0][0])
    api.order("buy", bid - 5000, "0.001")
    ws.subscribe("ticker", "BTCTRY")  # the next frames are the 100 and the ticker, never a 451
    assert ws.recv()[0] == 402


def test_each_subscription_counts_its_own_sequence(ws_factory, api):
    a, b = ws_factory(), ws_factory()
    a.recv()
    b.recv()
    a.subscribe("obdiff", "BTCTRY")
    start_a = a.recv_type(431)[1]["CS"]
    api.control("/sim/tick", {"n": 2})
    assert a.recv_type(432)[1]["CS"] == start_a + 1
    b.subscribe("obdiff", "BTCTRY")
    start_b = b.recv_type(431)[1]["CS"]
    api.control("/sim/tick", {"n": 2})
    assert b.recv_type(432)[1]["CS"] == start_b + 1


def test_websocket_handshakes_are_rate_limited_per_ip(sim):
    conns = [websocket.create_connection(sim.ws_url, timeout=5) for _ in range(14)]
    try:
        conns.append(websocket.create_connection(sim.ws_url, timeout=5))
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(sim.ws_url, timeout=5)
        assert refused.value.status_code == 429
    finally:
        for conn in conns:
            conn.close()


def test_a_reader_that_falls_behind_never_stalls_the_market(api, ws_factory):
    ws = ws_factory()
    ws.recv()
    for channel in ("orderbook", "obdiff", "ticker", "trade"):
        ws.send([151, {"type": 151, "channel": channel, "event": "BTCTRY", "join": True}])
    for _ in range(20):
        # The socket is not being read meanwhile; a market stalled behind it would leave these calls unanswered
        # (and the client's read timeout would fail the test).
        api.control("/sim/tick", {"n": 10})
    assert api.control("/sim/state")["ticks"] == 200
    assert ws.recv_type(100)[1]["ok"] is True  # everything is still delivered, in order


def test_login_signed_over_the_timestamp_is_accepted_too(ws_factory, sim):
    ws = ws_factory()
    ws.recv()
    stamp = int(time.time() * 1000)
    sig = ws_login_signature(sim.api_key, sim.api_secret, stamp)
    ws.send([114, {"type": 114, "publicKey": sim.api_key, "timestamp": stamp, "nonce": 1, "signature": sig}])
    assert ws.recv_type(114)[1]["ok"] is True
