"""Mean reversion: warm-up, entry on a dip below the EMA, hold, exit on reversion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from btcbot.strategies.mean_reversion import MeanReversion
from btcbot.strategy import OrderSide

B, S = OrderSide.BUY, OrderSide.SELL


def strategy(**params):
    return MeanReversion.from_params(
        **{"ema_cycles": 3, "warmup_cycles": 3, "entry_bps": 50, "exit_bps": 5, "order_notional": 120, **params}
    )


def warm(s, view, mid=2_000_000, n=3):
    for _ in range(n):
        w = s.decide(view(mid))
    return w


def test_warms_up_then_waits_for_a_signal(view):
    s = strategy()
    assert s.decide(view()).reason == "warming_up" and s.decide(view()).reason == "warming_up"
    assert s.decide(view()).reason == "no_signal" and s.ema("BTCTRY") == 2_000_000


def test_ema_follows_the_mid(view):
    s = strategy(ema_cycles=3)  # alpha = 0.5
    s.decide(view(2_000_000))
    s.decide(view(2_002_000))
    assert s.ema("BTCTRY") == 2_001_000


def test_buys_the_dip_at_the_ask_and_sells_the_reversion_at_the_bid(view):
    s = strategy()
    warm(s, view)
    w = s.decide(view(1_980_000))  # 1% below: the EMA only moves half-way
    (buy,) = w.orders
    assert buy.side is B and buy.price == 1_980_500 and buy.quantity * buy.price <= 121
    held = s.decide(view(1_981_000, position="0.00006"))  # still well below the EMA: hold
    assert held.orders == () and held.reason == "holding"
    (sell,) = s.decide(view(2_000_000, position="0.00006")).orders  # back above EMA - 5 bps
    assert sell == sell.__class__(S, Decimal(1_999_500), Decimal("0.00006"))


def test_passive_prices_wait_at_the_near_touch_and_keep_working_orders(view, order):
    s = strategy(aggressive=False)
    warm(s, view)
    (buy,) = s.decide(view(1_980_000)).orders
    assert buy.price == 1_979_500
    resting = order(B, 1_979_500, str(buy.quantity))
    assert s.decide(view(1_980_000, orders=(resting,))).orders == (resting.keep(),)


def test_no_signal_cancels_an_order_of_the_wrong_direction(view, order):
    s = strategy()
    warm(s, view)
    stray = order(S, 2_100_000, "0.0001")
    w = s.decide(view(2_000_000, orders=(stray,)))
    assert w.orders == () and w.reason == "no_signal"


@pytest.mark.parametrize("bad", [{"ema_cycles": 1}, {"entry_bps": 0}, {"order_notional": -1}, {"typo": 1}])
def test_parameters_are_validated(bad):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        strategy(**bad)
