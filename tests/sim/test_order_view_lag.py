"""The ``order_view_lag_ms`` fault: the private order views show the matching engine's state of that long ago."""

from __future__ import annotations

from decimal import Decimal

from btcbot.domain.clock import VirtualClock
from btcbot.sim.engine import MatchingEngine
from btcbot.sim.symbols import resolve_symbols
from btcbot.sim.views import OrderViews

D = Decimal
USER = 10
T0 = 1_700_000_000_000


class _Lag:
    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> int:
        return self.ms


def _setup() -> tuple[MatchingEngine, VirtualClock, OrderViews, _Lag]:
    clock = VirtualClock(start_ms=T0)
    engine = MatchingEngine(resolve_symbols(["BTCTRY"]), clock, cancel_delay_ms=20)
    engine.add_account(USER, {"TRY": D(1_000_000), "BTC": D(1)})
    engine.replace_book("BTCTRY", bids=[(D(2_999_000), D(1))], asks=[(D(3_001_000), D(1))])
    lag = _Lag()
    return engine, clock, OrderViews(engine, clock, lag), lag


def test_an_accepted_order_is_invisible_to_every_view_until_the_lag_has_passed():
    engine, clock, views, lag = _setup()
    lag.ms = 3000
    order = engine.submit(USER, "BTCTRY", "buy", "limit", D("0.001"), D(2_990_000), "cid-1")
    assert engine.orders(USER, open_only=True)  # the matching engine has it at once
    clock.advance_ms(2999)
    assert views.orders(USER, "BTCTRY", open_only=True) == []
    assert views.orders(USER, "BTCTRY") == []
    assert views.get_order(USER, order.id) is None
    clock.advance_ms(1)
    [seen] = views.orders(USER, "BTCTRY", open_only=True)
    assert (seen.id, seen.client_id, seen.status) == (order.id, "cid-1", "Untouched")
    assert views.get_order(USER, order.id) == seen
    assert views.get_order(USER + 1, order.id) is None  # another account's order stays private


def test_fills_and_cancels_reach_the_views_only_after_the_lag():
    engine, clock, views, lag = _setup()
    lag.ms = 1000
    resting = engine.submit(USER, "BTCTRY", "buy", "limit", D("0.001"), D(2_990_000), "rest")
    cancelled = engine.submit(USER, "BTCTRY", "buy", "limit", D("0.001"), D(2_980_000), "gone")
    clock.advance_ms(1500)
    # The market falls through the resting bid (it fills as the maker); the other order is cancelled.
    engine.replace_book("BTCTRY", bids=[(D(2_970_000), D(1))], asks=[(D(2_985_000), D(1))])
    engine.request_cancel(USER, cancelled.id)
    clock.advance_ms(20)
    engine.complete_due_cancels(clock.wall_ms())
    assert engine.get_order(USER, resting.id).status == "Closed"
    assert engine.get_order(USER, cancelled.id).status == "Canceled"
    assert len(engine.user_trades(USER)) == 1

    clock.advance_ms(500)  # the engine changed 520 ms ago: the views still show both orders resting
    assert {o.status for o in views.orders(USER, open_only=True)} == {"Untouched"}
    assert len(views.orders(USER, open_only=True)) == 2
    assert views.user_trades(USER) == []
    clock.advance_ms(500)
    assert views.orders(USER, open_only=True) == []
    assert {o.client_id: o.status for o in views.orders(USER)} == {"rest": "Closed", "gone": "Canceled"}
    assert [t.order_id for t in views.user_trades(USER)] == [resting.id]


def test_without_the_fault_the_views_are_the_engine():
    engine, _clock, views, lag = _setup()
    order = engine.submit(USER, "BTCTRY", "buy", "limit", D("0.001"), D(2_990_000), "cid-1")
    assert views.orders(USER, "BTCTRY", open_only=True) == engine.orders(USER, "BTCTRY", open_only=True)
    assert views.get_order(USER, order.id) == engine.get_order(USER, order.id)
    lag.ms = 60_000  # turned on later, the history is already there: the order is not yet visible
    assert views.get_order(USER, order.id) is None
    lag.ms = 0
    assert views.get_order(USER, order.id) is not None


def test_the_fault_on_the_wire(api):
    assert api.control("/sim/faults")["order_view_lag_ms"] == 0
    api.control("/sim/faults", {"order_view_lag_ms": 600_000})
    bid = Decimal(api.book()["bids"][0][0])
    placed = api.order("buy", bid - 20_000, "0.001")  # the submit itself is answered at once
    assert api.pget("/api/v1/openOrders?pairSymbol=BTCTRY").json()["data"]["bids"] == []
    assert api.pget("/api/v1/allOrders?pairSymbol=BTCTRY").json()["data"] == []
    missing = api.pget(f"/api/v1/order/{placed['id']}")
    assert missing.status_code == 400 and missing.json()["code"] == 1152
    assert api.pget("/api/v1/users/transactions/trade").json()["data"] == []
    assert api.sim.core.engine.orders(api.sim.user_id, open_only=True)  # the matching engine has it
    api.control("/sim/faults", {"order_view_lag_ms": 0})
    [row] = api.pget("/api/v1/openOrders?pairSymbol=BTCTRY").json()["data"]["bids"]
    assert row["id"] == placed["id"]
    assert api.pget(f"/api/v1/order/{placed['id']}").json()["data"]["status"] == "Untouched"
    bad = api.session.post(api.base + "/sim/faults", json={"order_view_lag_ms": -1}, timeout=5)
    assert bad.status_code == 400
