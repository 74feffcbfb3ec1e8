"""The matching engine in-process: priority, fills, cancels, replay books, determinism, conservation."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btcbot.domain.clock import VirtualClock
from btcbot.domain.market import PriceLevel
from btcbot.sim.engine import LIQUIDITY_USER_ID, MatchingEngine, SimRejection
from btcbot.sim.market import SyntheticMarket
from btcbot.sim.symbols import resolve_symbols

SPECS = resolve_symbols(["BTCTRY", "ETHTRY", "ETHBTC"])
D = Decimal


def _engine(clock=None, **kw):
    engine = MatchingEngine(SPECS, clock or VirtualClock(), **kw)
    engine.add_account(10, {"TRY": D(1_000_000), "BTC": D(2), "ETH": D(20)})
    engine.add_account(11, {"TRY": D(1_000_000), "BTC": D(2), "ETH": D(20)})
    return engine


def test_price_time_priority_and_partial_fill():
    engine = _engine()
    engine.set_reference_price("BTCTRY", D(3_000_000))
    first = engine.submit(10, "BTCTRY", "sell", "limit", D("0.01"), D(3_000_000))
    second = engine.submit(11, "BTCTRY", "sell", "limit", D("0.01"), D(3_000_000))
    better = engine.submit(11, "BTCTRY", "sell", "limit", D("0.005"), D(2_999_000))
    taker = engine.submit(10, "BTCTRY", "buy", "limit", D("0.012"), D(3_000_000))
    assert engine.get_order(11, better.id).status == "Closed"
    assert engine.get_order(10, first.id).status == "Partial"
    assert engine.get_order(10, first.id).left == D("0.003")
    assert engine.get_order(11, second.id).status == "Untouched"
    assert engine.get_order(10, taker.id).status == "Closed"
    trades = engine.user_trades(10)
    assert [(t.price, t.amount, t.maker) for t in trades if t.order_id == taker.id] == [
        (D(2_999_000), D("0.005"), False),
        (D(3_000_000), D("0.007"), False),
    ]


def test_cancel_completes_when_due_on_the_injected_clock():
    clock = VirtualClock(start_ms=1_700_000_000_000)
    engine = _engine(clock, cancel_delay_ms=50)
    engine.set_reference_price("BTCTRY", D(3_000_000))
    order = engine.submit(10, "BTCTRY", "buy", "limit", D("0.01"), D(2_900_000))
    assert order.created_ms == 1_700_000_000_000
    assert engine.request_cancel(10, order.id) is True
    assert engine.complete_due_cancels(clock.wall_ms()) == []
    clock.advance_ms(50)
    [done] = engine.complete_due_cancels(clock.wall_ms())
    assert done.status == "Canceled" and done.updated_ms == 1_700_000_000_050
    assert engine.request_cancel(10, order.id) is False  # already cancelled: accepted, nothing to do
    with pytest.raises(SimRejection) as unknown:
        engine.request_cancel(10, 1)
    assert unknown.value.code == 1051
    assert engine.balances(10)["TRY"] == (D(1_000_000), D(0))


def test_replace_book_from_recorded_levels_crosses_resting_orders():
    engine = _engine()
    engine.replace_book(
        "BTCTRY",
        bids=[PriceLevel(D(2_990_000), D("0.5")), PriceLevel(D(2_980_000), D("1"))],
        asks=[(D(3_010_000), D("0.5")), (D(3_020_000), D("1"))],
    )
    assert engine.levels("BTCTRY", 5) == (
        [(D(2_990_000), D("0.5")), (D(2_980_000), D("1"))],
        [(D(3_010_000), D("0.5")), (D(3_020_000), D("1"))],
    )
    resting = engine.submit(10, "BTCTRY", "buy", "limit", D("0.1"), D(3_000_000))
    assert engine.get_order(10, resting.id).status == "Untouched"
    # The next recorded book has asks through our bid: we fill at our own price, as the maker.
    engine.replace_book("BTCTRY", bids=[(D(2_970_000), D(1))], asks=[(D(2_995_000), D("0.04")), (D(2_999_000), D(1))])
    row = engine.get_order(10, resting.id)
    assert row.status == "Closed"
    assert {(t.price, t.amount, t.maker) for t in engine.user_trades(10)} == {
        (D(3_000_000), D("0.04"), True),
        (D(3_000_000), D("0.06"), True),
    }
    bids, asks = engine.levels("BTCTRY")
    assert asks == [(D(2_999_000), D("0.94"))] and bids == [(D(2_970_000), D(1))]
    assert engine.reference_price["BTCTRY"] == (D(2_970_000) + D(2_995_000)) / 2


def test_market_order_stops_at_the_five_percent_band():
    engine = _engine()
    engine.replace_book("BTCTRY", bids=[(D(2_900_000), D(1))], asks=[(D(3_000_000), D("0.01")), (D(3_200_000), D(1))])
    order = engine.submit(10, "BTCTRY", "buy", "market", D(100_000))
    [trade] = engine.user_trades(10)
    assert trade.price == D(3_000_000) and trade.amount == D("0.01")
    assert order.status == "Closed" and order.left == D(100_000) - D(30_000)
    assert engine.balances(10)["TRY"][1] == 0  # nothing left reserved


def test_same_seed_same_market_other_seed_differs():
    def run(seed):
        engine = MatchingEngine(SPECS, VirtualClock())
        market = SyntheticMarket(engine, SPECS, seed)
        market.tick(60)
        return engine.levels("BTCTRY"), [(t.price, t.amount) for t in engine.recent_trades("BTCTRY")], market.mid

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_synthetic_market_keeps_deep_liquidity_around_a_drifting_mid():
    engine = MatchingEngine(SPECS, VirtualClock())
    market = SyntheticMarket(engine, SPECS, 3)
    mids = []
    for _ in range(40):
        market.tick(5)
        bids, asks = engine.levels("BTCTRY")
        assert len(bids) >= 20 and len(asks) >= 20
        assert bids[0][0] < market.mid["BTCTRY"] < asks[0][0]
        mids.append(market.mid["BTCTRY"])
    assert len(set(mids)) > 30


# ----- conservation -----
_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("limit"),
            st.sampled_from([10, 11]),
            st.sampled_from(["BTCTRY", "ETHTRY", "ETHBTC"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(-40, 40),  # price offset from mid, in level steps
            st.integers(1, 400),  # quantity in thousandths of a base unit
        ),
        st.tuples(
            st.just("market"),
            st.sampled_from([10, 11]),
            st.sampled_from(["BTCTRY", "ETHTRY", "ETHBTC"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 50),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("tick"), st.integers(1, 4)),
        st.tuples(st.just("jump"), st.sampled_from(["BTCTRY", "ETHTRY", "ETHBTC"]), st.integers(-300, 300)),
        st.tuples(st.just("complete")),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), steps=_steps)
def test_no_money_created_or_lost(seed, steps):
    engine = _engine()
    market = SyntheticMarket(engine, SPECS, seed, depth=8)
    initial = engine.totals()
    placed: list[tuple[int, int]] = []
    for step in steps:
        kind = step[0]
        try:
            if kind == "limit":
                _, user, symbol, side, offset, qty = step
                spec = engine.specs[symbol]
                price = market.mid[symbol].quantize(spec.price_quantum) + spec.level_step * offset
                order = engine.submit(user, symbol, side, "limit", D(qty) / 1000, price)
                placed.append((user, order.id))
            elif kind == "market":
                _, user, symbol, side, size = step
                spec = engine.specs[symbol]
                qty = spec.min_exchange_value * size if side == "buy" else D(size) / 100
                placed.append((user, engine.submit(user, symbol, side, "market", qty).id))
            elif kind == "cancel" and placed:
                user, order_id = placed[step[1] % len(placed)]
                engine.request_cancel(user, order_id)
            elif kind == "tick":
                market.tick(step[1])
            elif kind == "jump":
                _, symbol, bps = step
                market.set_mid(symbol, market.mid[symbol] * (1 + D(bps) / 10_000))
            elif kind == "complete":
                engine.complete_due_cancels()
        except SimRejection:
            pass
        assert engine.totals() == initial
        for acct in engine.accounts.values():
            assert all(v >= 0 for v in acct.free.values()), acct.free
            for asset, locked in acct.locked.items():
                reserved = sum(
                    (o.locked for o in acct.orders.values() if o.is_open and _reserve_asset(engine, o) == asset),
                    D(0),
                )
                if acct.user_id != LIQUIDITY_USER_ID:
                    assert locked == reserved
    engine.complete_due_cancels()
    assert engine.totals() == initial


def _reserve_asset(engine, order):
    spec = engine.specs[order.symbol]
    return spec.denominator if order.side == "buy" else spec.numerator


def test_non_try_pairs_use_the_other_fee_schedule():
    engine = _engine()
    engine.replace_book("ETHBTC", bids=[(D("0.034"), D(10))], asks=[(D("0.035"), D(10))])
    engine.submit(10, "ETHBTC", "buy", "limit", D(2), D("0.035"))
    [trade] = engine.user_trades(10)
    assert trade.fee + trade.tax == D(2) * D("0.035") * D("0.0014")
    assert engine.fees_collected["BTC"] == D(2) * D("0.035") * (D("0.0014") + D("0.0010"))


def _one_ethbtc_fill(engine):
    engine.replace_book("ETHBTC", bids=[(D("0.029"), D(10))], asks=[(D("0.030"), D(10))])
    engine.submit(10, "ETHBTC", "buy", "limit", D(2), D("0.030"))
    [trade] = engine.user_trades(10)
    return trade, D(2) * D("0.030") * D("0.0014")  # the fill and the taker charge it pays


def test_tax_is_the_20_percent_vat_inside_the_fee_since_july_2023():
    trade, charge = _one_ethbtc_fill(_engine())
    assert (trade.fee, trade.tax) == (charge * 100 / 120, charge * 20 / 120) == (D("0.00007"), D("0.000014"))
    assert trade.tax / trade.fee == D("0.2")  # what the 2024 capture shows


@pytest.mark.parametrize("vat", [D(18), D(0)])
def test_an_older_vat_share_is_an_option(vat):
    trade, charge = _one_ethbtc_fill(_engine(vat_percent=vat))
    assert trade.fee + trade.tax == charge
    assert trade.tax == (charge * vat / (100 + vat)).quantize(D("1e-12"), rounding=ROUND_DOWN)
    assert abs(trade.tax / trade.fee - vat / 100) < D("1e-6")  # 0.18: the 2022 capture's share


@pytest.mark.parametrize("vat", [D(-1), D(100)])
def test_a_vat_outside_0_to_100_is_refused(vat):
    with pytest.raises(ValueError, match="vat_percent"):
        _engine(vat_percent=vat)
