"""The exact HTTP requests ccxt 4.5.90's btcturk class sends (reference section 12) work unchanged.

ccxt itself is not a dependency; each request below is what its code builds, and each check is what its
parser reads (any ``code`` other than 0 raises there).
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal


def _ok(resp):
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body.get("code", 0) in (0, "0", "SUCCESS")
    return body


def test_public_calls(api):
    markets = _ok(api.get("/api/v2/server/exchangeinfo"))["data"]["symbols"]
    assert all({"name", "numerator", "denominator", "numeratorScale", "denominatorScale"} <= set(m) for m in markets)
    tickers = _ok(api.get("/api/v2/ticker"))["data"]
    assert all("pair" in t for t in tickers)
    book = _ok(api.get("/api/v2/orderbook?pairSymbol=BTCTRY"))["data"]
    assert book["bids"] and book["asks"] and isinstance(book["timestamp"], int)
    api.control("/sim/tick", {"n": 5})
    trades = _ok(api.get("/api/v2/trades?pairSymbol=BTCTRY&last=3"))["data"]
    assert all({"date", "tid", "side"} <= set(t) for t in trades)
    now = int(time.time())
    candles = api.get(f"/v1/klines/history?symbol=BTCTRY&resolution=60&to={now}&from=-32400").json()
    assert candles["s"] == "ok"


def test_private_calls(api):
    balances = _ok(api.pget("/api/v1/users/balances"))["data"]
    assert all({"asset", "balance", "free", "locked"} <= set(b) for b in balances)
    bid = Decimal(api.book()["bids"][0][0])
    body = {
        "orderType": "buy",
        "orderMethod": "limit",
        "pairSymbol": "BTCTRY",
        "quantity": "0.001",
        "price": str(bid - 10000),
        "newClientOrderId": str(uuid.uuid4()),
    }
    order = _ok(api.post("/api/v1/order", body))["data"]
    opened = _ok(api.pget("/api/v1/openOrders?pairSymbol=BTCTRY"))["data"]
    row = opened["bids"][0]
    assert {"pairSymbol", "type", "method", "status", "leftAmount", "updateTime", "orderClientId"} <= set(row)
    since_s = int(time.time()) - 60
    orders = _ok(api.pget(f"/api/v1/allOrders?pairSymbol=BTCTRY&last=10&startTime={since_s}"))["data"]
    assert [o["id"] for o in orders] == [order["id"]]
    cancel = api.session.delete(f"{api.base}/api/v1/order?id={order['id']}", headers=api.headers(), timeout=5)
    _ok(cancel)
    api.order("buy", Decimal(api.book()["asks"][0][0]), "0.0005")
    mine = _ok(api.pget("/api/v1/users/transactions/trade"))["data"]
    assert all({"timestamp", "id", "orderId", "orderType", "fee", "denominatorSymbol"} <= set(t) for t in mine)
