"""Property tests for the Decimal helpers in btcbot.domain.rules."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from btcbot.domain.orders import OrderSide
from btcbot.domain.rules import SymbolRules


def rules(numerator_scale: int = 8, denominator_scale: int = 2, has_fraction: bool = True, **kw: object) -> SymbolRules:
    base: dict[str, object] = {
        "symbol": "BTCTRY",
        "numerator": "BTC",
        "denominator": "TRY",
        "numerator_scale": numerator_scale,
        "denominator_scale": denominator_scale,
        "has_fraction": has_fraction,
        "min_exchange_value": Decimal("99.91"),
        "min_price": Decimal("0.0000000000001"),
        "max_price": Decimal("10000000"),
        "minimum_limit_order_price": None,
        "maximum_limit_order_price": None,
        "status": "TRADING",
        "order_methods": ("LIMIT", "MARKET"),
    }
    base.update(kw)
    return SymbolRules(**base)  # type: ignore[arg-type]


prices = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("10000000"), allow_nan=False, places=10)
quantities = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), allow_nan=False, places=12)
scales = st.integers(min_value=0, max_value=8)
sides = st.sampled_from(list(OrderSide))


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@settings(max_examples=300, deadline=None)
@given(q=quantities, scale=scales)
def test_quantity_rounds_down_onto_the_grid(q: Decimal, scale: int) -> None:
    r = rules(numerator_scale=scale)
    out = r.round_quantity(q)
    assert out <= q
    assert q - out < r.quantity_quantum()
    assert decimals_of(out) <= scale


@settings(max_examples=300, deadline=None)
@given(p=prices, scale=scales, has_fraction=st.booleans(), side=sides)
def test_price_rounds_away_from_crossing(p: Decimal, scale: int, has_fraction: bool, side: OrderSide) -> None:
    r = rules(denominator_scale=scale, has_fraction=has_fraction)
    out = r.round_price(p, side)
    if side is OrderSide.BUY:
        assert out <= p  # a buy never pays more than asked
    else:
        assert out >= p  # a sell never accepts less than asked
    assert abs(out - p) < r.price_quantum()
    assert decimals_of(out) <= (scale if has_fraction else 0)


@settings(max_examples=400, deadline=None)
@given(
    p=st.decimals(min_value=Decimal("1"), max_value=Decimal("5000000"), allow_nan=False, places=2),
    notional=st.decimals(min_value=Decimal("1"), max_value=Decimal("100000"), allow_nan=False, places=2),
    cap=st.decimals(min_value=Decimal("1"), max_value=Decimal("100000"), allow_nan=False, places=2),
    floor=st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), allow_nan=False, places=2),
    scale=scales,
)
def test_quantity_for_notional_never_below_floor_or_above_cap(
    p: Decimal, notional: Decimal, cap: Decimal, floor: Decimal, scale: int
) -> None:
    r = rules(numerator_scale=scale)
    qty = r.quantity_for_notional(p, notional, floor_notional=floor, cap_notional=cap)
    if qty is None:
        # None only when no grid quantity fits between the floor and min(notional, cap).
        best = r.round_quantity(min(notional, cap) / p)
        assert best <= 0 or p * best < max(floor, r.min_exchange_value) or p * best > cap
        return
    assert qty > 0 and decimals_of(qty) <= scale
    assert p * qty >= max(floor, r.min_exchange_value)
    assert p * qty <= cap and p * qty <= notional


@settings(max_examples=200, deadline=None)
@given(
    p=st.decimals(min_value=Decimal("1"), max_value=Decimal("100000"), allow_nan=False, places=2),
    max_amount=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1"), allow_nan=False, places=4),
)
def test_quantity_for_notional_respects_maximum_order_amount(p: Decimal, max_amount: Decimal) -> None:
    r = rules(maximum_order_amount=max_amount)
    qty = r.quantity_for_notional(p, Decimal("100000"), floor_notional=Decimal(0), cap_notional=Decimal("100000"))
    assert qty is None or qty <= max_amount


def test_price_band_examples() -> None:
    r = rules(minimum_limit_order_price=Decimal("375413.5"), maximum_limit_order_price=Decimal("37541350"))
    assert r.price_in_band(Decimal("3800000"))
    assert not r.price_in_band(Decimal("375413"))
    assert not r.price_in_band(Decimal("37541351"))
    assert not rules(status="HALT").tradable
    assert rules(has_fraction=False, denominator_scale=2).round_price(Decimal("3800000.99"), OrderSide.SELL) == Decimal(
        "3800001"
    )


def test_supports_method_follows_order_methods() -> None:
    r = rules(order_methods=("LIMIT", "STOP_LIMIT"))
    assert r.supports_method("limit") and r.supports_method("stoplimit")
    assert not r.supports_method("market")
