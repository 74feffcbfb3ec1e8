"""Private order endpoints: submit, validation codes, listings, cancels, fills, balances, user trades."""

from __future__ import annotations

from decimal import Decimal

import pytest


def _best(api, pair="BTCTRY"):
    book = api.book(pair)
    return Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])


def test_ccxt_style_submit_is_accepted_and_shaped(api, shape):
    bid, _ = _best(api)
    body = {
        "orderType": "buy",
        "orderMethod": "LIMIT",  # case-insensitive
        "pairSymbol": "BTC_TRY",
        "quantity": 0.001,  # numbers accepted as well as strings
        "price": int(bid - 5000),
        "newClientOrderId": "ccxt-uuid-ignored",  # unknown key: ignored
    }
    resp = api.post("/api/v1/order", body)
    assert resp.status_code == 200, resp.text
    shape(resp.json(), "submit_order.json")
    data = resp.json()["data"]
    assert resp.json()["httpStatusCode"] == 200 and resp.json()["message"] == "OK"
    assert data["type"] == "buy" and data["method"] == "limit" and data["pairSymbol"] == "BTCTRY"
    assert data["id"] > 2**32 and data["newOrderClientId"] != "ccxt-uuid-ignored"


def test_client_id_is_echoed_and_may_repeat(api):
    bid, _ = _best(api)
    ids = set()
    for _ in range(2):
        body = {"orderType": "buy", "orderMethod": "limit", "pairSymbol": "BTCTRY", "quantity": "0.001",
                "price": str(bid - 10000), "newOrderClientId": "same-id"}  # fmt: skip
        data = api.post("/api/v1/order", body).json()["data"]
        assert data["newOrderClientId"] == "same-id"
        ids.add(data["id"])
    assert len(ids) == 2


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        ({"price": "3790000.5", "quantity": "0.001"}, "FAILED_INVALID_PRICE_SCALE", 1126),
        ({"price": "3790000", "quantity": "0.000000001"}, "FAILED_INVALID_QUANTITY_SCALE", 1127),
        ({"price": "3790000", "quantity": "0.00001"}, "FAILED_MIN_TOTAL_AMOUNT", 1123),
        ({"price": "99000000", "quantity": "0.00001"}, "PRICE_MUST_BE_LESS_THAN_MAXPRICE", 1226),
        ({"price": "100000", "quantity": "0.01"}, "PRICE_MUST_BE_LESS_THAN_MINPRICE", 1227),
        ({"price": "3790000", "quantity": "1"}, "BALANCE_NOT_ENOUGH", 1055),
        ({"pairSymbol": "NOPEUSDT", "price": "1", "quantity": "1"}, "Pair NOPEUSDT does not exists.", 1037),
        ({"orderMethod": "stoplimit", "price": "3790000", "quantity": "0.001"}, "ORDER_METHOD_NOT_SUPPORTED", 1134),
        ({"orderType": "hold", "price": "3790000", "quantity": "0.001"}, "ORDER_TYPE_NOT_SUPPORTED", 1193),
        ({"price": "abc", "quantity": "0.001"}, "INVALID_REQUEST_ERROR", 1037),
    ],
)
def test_validation_codes(api, shape, body, message, code):
    full = {"orderType": "buy", "orderMethod": "limit", "pairSymbol": "BTCTRY", **body}
    resp = api.post("/api/v1/order", full)
    assert resp.status_code == 400, resp.text
    shape(resp.json(), "error_order.json")
    assert resp.json() == {"httpStatusCode": 400, "data": None, "success": False, "message": message, "code": code}


def test_fraction_pair_accepts_its_price_scale(api):
    bid, _ = _best(api, "ETHTRY")
    ok = api.order("buy", bid - Decimal("100.25"), "0.01", pair="ETHTRY")
    assert ok["price"] == str(bid - Decimal("100.25"))
    resp = api.post("/api/v1/order", {"orderType": "buy", "orderMethod": "limit", "pairSymbol": "ETHTRY",
                                      "quantity": "0.01", "price": str(bid - Decimal("100.255"))})  # fmt: skip
    assert resp.json()["code"] == 1126


def test_funds_locked_in_open_orders_give_1122(api):
    bid, _ = _best(api)
    price = bid - 50000
    # 1,000,000 TRY: one order locking most of it, then one that only fails because of that lock.
    qty = (Decimal(900000) / price).quantize(Decimal("0.00000001"))
    api.order("buy", price, qty)
    resp = api.post("/api/v1/order", {"orderType": "buy", "orderMethod": "limit", "pairSymbol": "BTCTRY",
                                      "quantity": str(qty), "price": str(price)})  # fmt: skip
    assert resp.status_code == 400 and resp.json()["code"] == 1122
    assert resp.json()["message"] == "FAILED_ORDER_WITH_OPEN_ORDERS"
    sell = api.post("/api/v1/order", {"orderType": "sell", "orderMethod": "limit", "pairSymbol": "BTCTRY",
                                      "quantity": "1.5", "price": str(bid + 50000)})  # fmt: skip
    assert sell.json()["code"] == 1055


def test_buy_needs_notional_plus_fee_free(api):
    sim = api.sim
    bid, _ = _best(api)
    price = bid - 100000
    # Exactly the whole balance as notional: the taker fee on top cannot be covered.
    qty = (Decimal(1_000_000) / price).quantize(Decimal("0.00000001"))
    resp = api.post("/api/v1/order", {"orderType": "buy", "orderMethod": "limit", "pairSymbol": "BTCTRY",
                                      "quantity": str(qty), "price": str(price)})  # fmt: skip
    assert resp.json()["code"] == 1055
    assert sim.state()["accounts"][0]["open_orders"] == 0


def test_open_order_listing_balances_lock_and_single_order(api, shape):
    bid, _ = _best(api)
    price = bid - 20000
    order = api.order("buy", price, "0.002")
    opened = api.pget("/api/v1/openOrders?pairSymbol=BTCTRY")
    assert opened.status_code == 200
    shape(opened.json(), "open_orders.json")
    row = opened.json()["data"]["bids"][0]
    assert row["id"] == order["id"] and row["time"] == 0 and row["status"] == "Untouched"
    assert row["leftAmount"] == "0.00200000" and opened.json()["data"]["asks"] == []
    single = api.pget(f"/api/v1/order/{order['id']}")
    shape(single.json(), "order.json")
    assert single.json()["data"]["time"] > 0
    balances = api.pget("/api/v1/users/balances")
    shape(balances.json(), "balances.json")
    try_row = next(r for r in balances.json()["data"] if r["asset"] == "TRY")
    locked = price * Decimal("0.002") * Decimal("1.0024")
    assert Decimal(try_row["locked"]) == locked
    assert Decimal(try_row["free"]) + Decimal(try_row["locked"]) == Decimal(try_row["balance"]) == 1_000_000
    missing = api.pget("/api/v1/order/12345")
    assert missing.status_code == 400
    assert missing.json() == {"data": None, "success": False, "message": "Order not found", "code": 1152}


def test_cancel_lifecycle_async_and_idempotent(api, shape):
    bid, _ = _best(api)
    order = api.order("buy", bid - 20000, "0.001")
    resp = api.delete(f"/api/v1/order?id={order['id']}")
    assert resp.status_code == 200
    shape(resp.json(), "cancel_order.json")
    assert resp.json() == {"success": True, "message": "SUCCESS", "code": 0}
    row = api.wait_order_status(order["id"], "Canceled")
    assert row["status"] == "Canceled" and row["leftAmount"] == "0.00100000"
    again = api.delete(f"/api/v1/order?id={order['id']}")
    assert again.status_code == 200 and again.json()["code"] == 0
    unknown = api.delete("/api/v1/order?id=999")
    assert unknown.status_code == 400
    shape(unknown.json(), "error.json")
    assert unknown.json()["message"] == "NO_ORDER_MATCHES_YOUR_REQUEST" and unknown.json()["code"] == 1051
    body_only = api.session.delete(api.base + "/api/v1/order", headers=api.headers(), json={"id": order["id"]})
    assert body_only.json()["code"] == 1051
    try_row = next(r for r in api.pget("/api/v1/users/balances").json()["data"] if r["asset"] == "TRY")
    assert try_row["locked"] == "0" and try_row["free"] == "1000000"


def test_cancel_is_pending_right_after_the_200(api_for):
    from btcbot.sim import Simulator

    # With a long cancel delay the order is visibly still open after the 200: the 200 only means "accepted".
    with Simulator(seed=7, market_tick_ms=0, cancel_delay_ms=300) as slow:
        api = api_for(slow)
        bid, _ = _best(api)
        order = api.order("buy", bid - 20000, "0.001")
        assert api.delete(f"/api/v1/order?id={order['id']}").status_code == 200
        assert api.pget(f"/api/v1/order/{order['id']}").json()["data"]["status"] == "Untouched"
        assert api.wait_order_status(order["id"], "Canceled")["status"] == "Canceled"


def test_taker_fill_fees_user_trades_and_cancel_filled(api, shape):
    _, ask = _best(api)
    book = api.book()
    first_ask_qty = Decimal(book["asks"][0][1])
    qty = min(first_ask_qty, Decimal("0.001"))
    order = api.order("buy", ask, qty)
    row = api.pget(f"/api/v1/order/{order['id']}").json()["data"]
    assert row["status"] == "Closed" and Decimal(row["leftAmount"]) == 0
    cancel = api.delete(f"/api/v1/order?id={order['id']}")
    assert cancel.status_code == 400
    assert cancel.json()["message"] == "ORDER_COULD_NOT_BE_CANCELED" and cancel.json()["code"] == 1050
    trades = api.pget("/api/v1/users/transactions/trade")
    shape(trades.json(), "user_trades.json")
    [trade] = trades.json()["data"]
    assert trade["orderId"] == order["id"] and trade["orderType"] == "buy" and trade["id"] > 2**53
    notional = ask * qty
    fee, tax = -Decimal(trade["fee"]), -Decimal(trade["tax"])
    assert fee > 0 and tax > 0 and fee + tax == notional * Decimal("0.0024")
    balances = {r["asset"]: r for r in api.pget("/api/v1/users/balances").json()["data"]}
    assert Decimal(balances["BTC"]["balance"]) == 1 + qty
    assert Decimal(balances["TRY"]["balance"]) == 1_000_000 - notional - fee - tax
    by_order = api.pget(f"/api/v1/users/transactions/trade?orderId={order['id']}").json()["data"]
    assert len(by_order) == 1
    assert api.pget("/api/v1/users/transactions/trade?type=sell").json()["data"] == []
    assert len(api.pget("/api/v1/users/transactions/trade?symbol=btc&symbol=try").json()["data"]) == 1


def test_passive_buy_rests_then_fills_when_price_moves_through_it(api):
    bid, _ = _best(api)
    price = bid - 10000
    order = api.order("buy", price, "0.001")
    assert api.pget(f"/api/v1/order/{order['id']}").json()["data"]["status"] == "Untouched"
    api.control("/sim/market", {"symbol": "BTCTRY", "mid": str(price - 20000)})
    row = api.pget(f"/api/v1/order/{order['id']}").json()["data"]
    assert row["status"] == "Closed"
    [trade] = api.pget("/api/v1/users/transactions/trade").json()["data"]
    assert Decimal(trade["price"]) == price  # filled at its own price, as the maker
    fee_total = -Decimal(trade["fee"]) - Decimal(trade["tax"])
    assert fee_total == price * Decimal("0.001") * Decimal("0.0012")


def test_partial_fill_then_cancel(api):
    api.control("/sim/tick", {"n": 1})
    book = api.book()
    best_ask_price, best_ask_qty = Decimal(book["asks"][0][0]), Decimal(book["asks"][0][1])
    qty = best_ask_qty + Decimal("0.01")
    order = api.order("sell", best_ask_price, "0.001")  # joins the best ask level behind the market's quote
    buy = api.order("buy", best_ask_price, qty)
    sell_row = api.pget(f"/api/v1/order/{order['id']}").json()["data"]
    buy_row = api.pget(f"/api/v1/order/{buy['id']}").json()["data"]
    # Price-time priority: the earlier resting quote fills first, then our sell; the buy's rest stays open.
    assert sell_row["status"] == "Closed"
    assert buy_row["status"] == "Partial"
    assert Decimal(buy_row["leftAmount"]) == qty - best_ask_qty - Decimal("0.001")
    assert api.delete(f"/api/v1/order?id={buy['id']}").status_code == 200
    assert api.wait_order_status(buy["id"], "Canceled")["status"] == "Canceled"


def test_market_orders_buy_spends_quote_and_sell_sells_base(api):
    buy = api.order("buy", None, "1000", method="market")
    row = api.pget(f"/api/v1/order/{buy['id']}").json()["data"]
    assert row["method"] == "market" and row["status"] == "Closed"
    [trade] = api.pget("/api/v1/users/transactions/trade").json()["data"]
    assert Decimal(trade["amount"]) * Decimal(trade["price"]) <= 1000
    sell = api.order("sell", None, "0.01", method="market")
    assert api.pget(f"/api/v1/order/{sell['id']}").json()["data"]["status"] == "Closed"
    too_small = api.post("/api/v1/order", {"orderType": "buy", "orderMethod": "market", "pairSymbol": "BTCTRY",
                                           "quantity": "50"})  # fmt: skip
    assert too_small.json()["code"] == 1123
    cannot = api.delete(f"/api/v1/order?id={sell['id']}")
    assert cannot.json()["code"] == 1050


def test_all_orders_lists_every_status(api):
    bid, _ = _best(api)
    kept = api.order("buy", bid - 20000, "0.001")
    gone = api.order("buy", bid - 30000, "0.001")
    api.delete(f"/api/v1/order?id={gone['id']}")
    api.wait_order_status(gone["id"], "Canceled")
    rows = api.pget("/api/v1/allOrders?pairSymbol=BTCTRY").json()["data"]
    assert {r["id"]: r["status"] for r in rows} == {kept["id"]: "Untouched", gone["id"]: "Canceled"}
    assert all(r["time"] > 0 for r in rows)
    newer = api.pget(f"/api/v1/allOrders?pairSymbol=BTCTRY&orderId={gone['id']}").json()["data"]
    assert [r["id"] for r in newer] == [gone["id"]]
    assert len(api.pget("/api/v1/allOrders?pairSymbol=BTCTRY&last=1").json()["data"]) == 1


def test_the_simulators_vat_option_reaches_the_trade_rows(api_for):
    from btcbot.sim import Simulator

    with Simulator(seed=7, market_tick_ms=0, vat_percent=Decimal(18)) as sim:
        api = api_for(sim)
        _, ask = _best(api)
        api.order("buy", ask, "0.0005")
        [trade] = api.pget("/api/v1/users/transactions/trade").json()["data"]
        ratio = Decimal(trade["tax"]) / Decimal(trade["fee"])
        assert abs(ratio - Decimal("0.18")) < Decimal("1e-9")  # the 2022 capture's share
