"""Backtest accounting: average cost, realized/unrealized PnL, fees + tax, the curve, fill ratio, rate headroom."""

from __future__ import annotations

from decimal import Decimal

import pytest

from btcbot.domain.orders import Fill, OrderSide
from btcbot.exchange.btcturk.limiter import Limit
from btcbot.replay.accounting import (
    BacktestFill,
    Ledger,
    SymbolAccount,
    Touch,
    account,
    fill_ratio,
    max_drawdown,
    peak_in_window,
    rate_limit_use,
)

D = Decimal
PAIRS = {"BTCTRY": ("BTC", "TRY")}


def at(price: int | str) -> Touch:
    """A touch with no spread, where only the price level matters."""
    return Touch(D(price), D(price))


_ids = iter(range(1, 10_000))


def fill(
    side: str,
    qty: str,
    price: str,
    *,
    ts: int = 0,
    fee: str = "0",
    tax: str = "0",
    symbol: str = "BTCTRY",
    maker: bool = True,
) -> BacktestFill:
    return BacktestFill(Fill(next(_ids), 1, None, symbol, OrderSide(side), D(price), D(qty), D(fee), D(tax), ts), maker)


def acct(*fills: BacktestFill) -> SymbolAccount:
    a = SymbolAccount("BTCTRY", "BTC", "TRY")
    for f in fills:
        a.apply(f)
    return a


def test_buy_then_sell_realizes_the_price_difference_and_fees_and_tax_come_off() -> None:
    # A 0.12 % maker charge on 100 TRY is 0.12 TRY, of which 20/120 (0.02) is the VAT share (`tax`).
    a = acct(
        fill("buy", "1", "100", fee="0.10", tax="0.02"),
        fill("sell", "1", "110", fee="0.11", tax="0.022", maker=False),
    )
    assert a.position == 0 and a.average_cost is None
    assert a.realized_pnl == D(10)
    assert (a.fee, a.tax, a.fees) == (D("0.21"), D("0.042"), D("0.252"))
    assert (a.maker_fees, a.taker_fees) == (D("0.12"), D("0.132"))
    assert a.net_pnl(D(999)) == D("9.748")  # flat: the mark no longer matters
    assert (a.turnover, a.bought, a.sold, a.fills, a.maker_fills) == (D(210), D(1), D(1), 2, 1)


def test_partial_fills_build_an_average_cost_and_a_partial_close_keeps_it() -> None:
    a = acct(fill("buy", "0.3", "100"), fill("buy", "0.7", "110"))
    assert a.position == D(1) and a.average_cost == D(107)
    a.apply(fill("sell", "0.5", "120"))
    assert a.realized_pnl == D("6.5") and a.position == D("0.5") and a.average_cost == D(107)
    assert a.unrealized_pnl(D(100)) == D("-3.5")
    assert a.net_pnl(D(100)) == D(3)


def test_a_fill_through_zero_realizes_the_closed_part_and_opens_the_rest_at_its_price() -> None:
    a = acct(fill("buy", "1", "100"), fill("sell", "1.5", "110"))
    assert a.realized_pnl == D(10) and a.position == D("-0.5") and a.average_cost == D(110)
    assert a.unrealized_pnl(D(100)) == D(5)  # short 0.5 from 110, marked at 100


def test_a_first_sell_is_a_negative_position_out_of_the_starting_inventory() -> None:
    a = acct(fill("sell", "1", "100"), fill("buy", "0.4", "90"))
    assert a.realized_pnl == D(4) and a.position == D("-0.6") and a.average_cost == D(100)
    a.apply(fill("buy", "0.6", "95"))
    assert a.realized_pnl == D(7) and a.position == 0 and a.average_cost is None


def test_unrealized_needs_a_mark_only_while_a_position_is_open() -> None:
    assert acct().unrealized_pnl(None) == 0
    assert acct(fill("buy", "1", "100")).unrealized_pnl(None) is None
    assert acct(fill("buy", "1", "100")).net_pnl(None) is None


def test_ledger_sums_in_try_and_converts_another_quote_at_its_try_mark() -> None:
    ledger = Ledger({"BTCTRY": ("BTC", "TRY"), "BTCUSDT": ("BTC", "USDT"), "ETHTRY": ("ETH", "TRY")})
    ledger.apply(fill("buy", "1", "100", fee="1"))
    ledger.apply(fill("buy", "1", "10", symbol="BTCUSDT"))
    touches = {"BTCTRY": at(110), "BTCUSDT": at(11)}
    # ETHTRY never traded: it needs no mark. BTCUSDT's +1 USDT needs USDTTRY, at its mid.
    assert ledger.net_pnl(touches) is None
    assert ledger.net_pnl({**touches, "USDTTRY": Touch(D(39), D(41))}) == D(9) + D(40)
    assert ledger.traded_assets() == {"BTC", "TRY", "USDT"}


def test_curve_values_each_sample_with_the_fills_up_to_it_and_carries_marks_forward() -> None:
    fills = [fill("buy", "1", "100", ts=10, fee="0.5"), fill("sell", "1", "104", ts=35, fee="0.5")]
    samples = [
        (0, {"BTCTRY": at(100)}),
        (10, {"BTCTRY": at(100)}),  # the buy at 10 is in this sample: -0.5 fee
        (20, {"BTCTRY": at(106)}),  # peak +5.5
        (30, {}),  # no touch (stale book): the last one carries forward
        (32, {"BTCTRY": at(101)}),  # trough +0.5
        (40, {"BTCTRY": at(90)}),  # flat again after the sell at 35: +3
    ]
    acc = account(fills, samples, PAIRS)
    assert acc.curve == [(0, 0), (10, D("-0.5")), (20, D("5.5")), (30, D("5.5")), (32, D("0.5")), (40, D(3))]
    assert (acc.drawdown.amount, acc.drawdown.peak_ms, acc.drawdown.trough_ms) == (D(5), 20, 32)
    assert acc.positions["BTCTRY"] == [(10, D(1)), (35, D(0))]
    assert acc.prices["BTCTRY"][-1] == (40, D(90)) and len(acc.prices["BTCTRY"]) == 5
    assert acc.net_pnl() == D(3)


def test_a_sample_without_the_mark_of_an_open_position_is_left_out_and_late_fills_still_count() -> None:
    acc = account([fill("buy", "1", "100", ts=5), fill("sell", "1", "100", ts=99, fee="1")], [(10, {})], PAIRS)
    assert acc.curve == [(5, 0)]  # only the flat start
    assert acc.ledger.accounts["BTCTRY"].fills == 2 and acc.net_pnl() == D(-1)


@pytest.mark.parametrize(("side", "mark", "unrealized"), [("buy", "98", "-2"), ("sell", "102", "-2")])
def test_an_open_position_is_valued_at_what_closing_it_would_fetch(side: str, mark: str, unrealized: str) -> None:
    """A long at the bid, a short at the ask: the mid (100, where it was opened) would show no loss at all."""
    acc = account([fill(side, "1", "100", ts=5)], [(10, {"BTCTRY": Touch(D(98), D(102))})], PAIRS)
    assert acc.mark("BTCTRY") == D(mark)
    assert acc.net_pnl() == D(unrealized)
    assert acc.curve[-1] == (10, D(unrealized))


def test_a_loss_on_a_fill_carried_by_the_first_sample_is_a_drawdown() -> None:
    """The run starts flat: a first trade that only loses (its fee) falls from zero, even at the first sample."""
    acc = account([fill("sell", "1", "100", ts=0, fee="0.72")], [(0, {"BTCTRY": at(100)})], PAIRS)
    assert acc.curve == [(0, 0), (0, D("-0.72"))]
    assert (acc.drawdown.amount, acc.drawdown.peak_ms, acc.drawdown.trough_ms) == (D("0.72"), 0, 0)


def test_max_drawdown_of_a_rising_curve_is_zero() -> None:
    assert max_drawdown([(0, D(1)), (1, D(2))]).amount == 0
    assert max_drawdown([]).peak_ms is None


def test_fill_ratio_counts_accepted_orders_only() -> None:
    rows = [
        ("FILLED", D(1), D(1)),
        ("CANCELLED", D(1), D("0.5")),
        ("REJECTED", D(5), D(0)),
        ("NOT_SENT", D(5), D(0)),
        ("OPEN", D(2), D(0)),
    ]
    assert fill_ratio(rows) == D("0.375")
    assert fill_ratio([("REJECTED", D(1), D(0))]) is None


def test_peak_in_window_is_a_sliding_half_open_window() -> None:
    assert peak_in_window([], 1000) == 0
    assert peak_in_window([0, 999], 1000) == 2
    assert peak_in_window([0, 1000], 1000) == 1
    assert peak_in_window([0, 0, 0, 500, 1400, 1499, 2600], 1000) == 4


def test_rate_limit_use_reports_headroom_against_each_documented_limit_tightest_first() -> None:
    submits = list(range(0, 1100, 100))  # 11 in 1.1 s: 10 in the tightest 1-s window
    cancels = [0] * 11 + [30_000]  # 11 in the same ms: one over the 1-s limit
    uses = rate_limit_use(
        {("POST", "/api/v1/order"): submits, ("DELETE", "/api/v1/order"): cancels, ("GET", "/unlimited"): [0]}
    )
    by = {(u.method, u.period_s): u for u in uses}
    assert by["DELETE", 1].peak == 11 and by["DELETE", 1].headroom == -1
    assert by["POST", 1].peak == 10 and by["POST", 1].headroom == 0
    assert by["POST", 60].peak == 11 and by["POST", 60].headroom == 289 and by["POST", 60].requests == 11
    assert uses[0].method == "DELETE" and uses[0].period_s == 1  # the only one over: first
    assert all(u.route != "/unlimited" for u in uses)
    custom = rate_limit_use({("GET", "/x"): [0, 1]}, {("GET", "/x"): (Limit(1, 1),)})
    assert custom[0].as_dict()["headroom"] == -1


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_net_pnl_equals_the_balance_change_valued_at_the_mark(side: str) -> None:
    """Accounting from fills and the account's own balances must tell the same story."""
    other = "sell" if side == "buy" else "buy"
    fills = [
        fill(side, "0.3", "100", fee="0.03", tax="0.006"),
        fill(side, "0.2", "104", fee="0.02", tax="0.004"),
        fill(other, "0.4", "101", fee="0.04", tax="0.008"),
    ]
    a = acct(*fills)
    sign = {"buy": 1, "sell": -1}
    base = sum(sign[f.fill.side.value] * f.fill.quantity for f in fills)
    quote = sum(-sign[f.fill.side.value] * f.fill.price * f.fill.quantity - f.fill.fee - f.fill.tax for f in fills)
    mark = D("102.5")
    assert a.net_pnl(mark) == quote + base * mark
