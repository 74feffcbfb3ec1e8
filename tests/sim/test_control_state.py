"""GET /sim/state lists each account's orders (open, and the recent finished ones) next to its balances."""

from __future__ import annotations

import json
from decimal import Decimal

from btcbot.sim import DEMO_API_SECRET, Simulator
from btcbot.sim.core import DEMO_USER_ID, RECENT_ORDERS_SHOWN


def _submit(api, side, price, quantity, client_id):
    body = {"orderType": side, "orderMethod": "limit", "pairSymbol": "BTCTRY", "quantity": quantity,
            "price": str(price), "newOrderClientId": client_id}  # fmt: skip
    resp = api.post("/api/v1/order", body)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["id"]


def test_state_lists_open_filled_and_cancelled_orders_with_their_ids_and_amounts(api):
    book = api.book()
    bid, ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
    resting = _submit(api, "buy", bid - 5000, "0.002", "rest-1")
    filled = _submit(api, "buy", ask, "0.0005", "fill-1")
    cancelled = _submit(api, "buy", bid - 6000, "0.001", "cancel-1")
    assert api.delete(f"/api/v1/order?id={cancelled}").status_code == 200
    assert api.wait_order_status(cancelled, "Canceled")["status"] == "Canceled"

    state = api.control("/sim/state")
    [account] = state["accounts"]
    assert account["open_orders"] == 1
    shown = {o["id"]: o for o in account["orders"]}
    assert set(shown) == {resting, filled, cancelled}
    assert shown[resting] == {
        "id": resting, "client_id": "rest-1", "symbol": "BTCTRY", "side": "buy", "method": "limit",
        "status": "Untouched", "price": str(bid - 5000), "amount": "0.002", "left": "0.002",
        "updated_ms": shown[resting]["updated_ms"],
    }  # fmt: skip
    assert (shown[filled]["client_id"], shown[filled]["status"], Decimal(shown[filled]["left"])) == (
        "fill-1", "Closed", 0,
    )  # fmt: skip
    assert (shown[cancelled]["status"], shown[cancelled]["left"]) == ("Canceled", "0.001")
    assert account["orders"][0]["id"] == cancelled  # newest first
    assert DEMO_API_SECRET not in json.dumps(state)


def test_state_keeps_every_open_order_and_only_the_most_recent_finished_ones():
    with Simulator(market_tick_ms=0) as sim:

        def churn() -> tuple[int, list[int]]:
            engine = sim.core.engine
            bid = engine.best_bid_ask("BTCTRY")[0]
            assert bid is not None
            oldest_open = engine.submit(DEMO_USER_ID, "BTCTRY", "buy", "limit", Decimal("0.001"), bid - 9000).id
            finished = []
            for _ in range(RECENT_ORDERS_SHOWN + 5):
                order = engine.submit(DEMO_USER_ID, "BTCTRY", "buy", "limit", Decimal("0.001"), bid - 8000)
                engine.cancel_order_now(DEMO_USER_ID, order.id)
                finished.append(order.id)
            return oldest_open, finished

        oldest_open, finished = sim.call(churn)
        [account] = sim.state()["accounts"]
        ids = [o["id"] for o in account["orders"]]
        assert oldest_open in ids  # open orders are never cut, however old
        assert sorted(set(ids) - {oldest_open}) == finished[-RECENT_ORDERS_SHOWN:]
