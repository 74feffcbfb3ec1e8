"""The bot's position from its own fills: average cost, realized PnL, fees, and the recent-fill window."""

from __future__ import annotations

from decimal import Decimal

from btcbot.domain.orders import Fill, OrderSide
from btcbot.runtime.positions import AccountState, PositionBook, SymbolPosition, apply_fill

_ids = iter(range(1, 10_000))


def fill(side, price, qty, symbol="BTCTRY", fee="0.1", ts=0):
    return Fill(next(_ids), 1, "btcbot-x-1", symbol, side, Decimal(price), Decimal(qty), Decimal(fee), Decimal(0), ts)


def run(*fills):
    pos = SymbolPosition("BTCTRY")
    for f in fills:
        pos = apply_fill(pos, f)
    return pos


def test_buys_average_and_sells_realize_against_the_average():
    pos = run(fill(OrderSide.BUY, 100, 1), fill(OrderSide.BUY, 200, 1))
    assert pos.base == 2 and pos.average_cost == 150 and pos.realized_pnl == 0 and pos.fees == Decimal("0.2")
    pos = apply_fill(pos, fill(OrderSide.SELL, 180, "0.5"))
    assert pos.base == Decimal("1.5") and pos.average_cost == 150 and pos.realized_pnl == 15


def test_closing_flattens_and_a_fill_through_zero_opens_at_its_price():
    assert run(fill(OrderSide.BUY, 100, 1), fill(OrderSide.SELL, 90, 1)).average_cost is None
    pos = run(fill(OrderSide.BUY, 100, 1), fill(OrderSide.SELL, 120, 3))
    assert pos.base == -2 and pos.average_cost == 120 and pos.realized_pnl == 20
    pos = apply_fill(pos, fill(OrderSide.BUY, 110, 1))  # covering a short at a lower price gains
    assert pos.base == -1 and pos.realized_pnl == 30


def test_book_keeps_positions_per_symbol_and_a_bounded_recent_window():
    book = PositionBook(recent=3)
    for i in range(5):
        book.apply(fill(OrderSide.BUY, 100, 1, ts=i))
    book.apply(fill(OrderSide.SELL, 10, 2, symbol="ETHTRY", ts=2))
    snap = book.snapshot()
    assert isinstance(snap, AccountState)
    assert snap.position("BTCTRY").base == 5 and snap.position("ETHTRY").base == -2
    assert snap.position("XRPTRY") == SymbolPosition("XRPTRY")
    assert [f.ts_ms for f in snap.fills_on("BTCTRY")] == [2, 3, 4]
    assert [f.ts_ms for f in snap.recent_fills] == sorted(f.ts_ms for f in snap.recent_fills)
    assert snap.net_base() == {"BTCTRY": 5, "ETHTRY": -2}
