"""The public strategy API: its types refuse what they cannot mean, and a subclass gets its Config by itself."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal

import pytest
from pydantic import ValidationError

import btcbot.strategy as api
from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.strategy import (
    Balances,
    LiveOrder,
    OrderSide,
    OrderStatus,
    Strategy,
    StrategyConfig,
    Wanted,
    WantedOrder,
    bps,
)


class EchoConfig(StrategyConfig):
    offset_bps: Decimal = Decimal(10)


class Echo(Strategy[EchoConfig]):
    def decide(self, view: api.MarketView) -> Wanted:
        return Wanted.none("echo")


def test_all_names_exist_and_nothing_runtime_leaks():
    for name in api.__all__:
        assert hasattr(api, name), name
    assert not any(n in api.__all__ for n in ("Settings", "ArmingGate", "WriteToken", "BtcturkExchange"))


def test_config_comes_from_the_type_argument_and_name_from_the_class():
    assert Echo.Config is EchoConfig and Echo.name == "Echo"
    s = Echo.from_params(offset_bps="12.5")
    assert s.config.offset_bps == Decimal("12.5")
    with pytest.raises(ValidationError):
        Echo.from_params(offset_bps_typo=1)  # StrategyConfig forbids unknown names


def test_config_is_frozen():
    s = Echo.from_params()
    with pytest.raises(ValidationError):
        s.config.offset_bps = Decimal(1)  # type: ignore[misc]


def test_base_decide_is_not_an_implementation():
    class Lazy(Strategy[EchoConfig]):
        pass

    with pytest.raises(NotImplementedError):
        Lazy.from_params().decide(None)  # type: ignore[arg-type]


def test_wanted_order_takes_decimals_and_ints_only_and_positive_values():
    o = WantedOrder(OrderSide.BUY, 100, Decimal("0.5"))
    assert o.price == Decimal(100) and isinstance(o.price, Decimal) and o.notional == Decimal(50)
    with pytest.raises(TypeError, match="Decimal"):
        WantedOrder(OrderSide.BUY, 100.5, Decimal(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        WantedOrder("buy", Decimal(1), Decimal(1))  # type: ignore[arg-type]
    for bad in (Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError, match="> 0"):
            WantedOrder(OrderSide.SELL, Decimal(1), bad)
    with pytest.raises(FrozenInstanceError):
        o.price = Decimal(1)  # type: ignore[misc]


def test_wanted_holds_wanted_orders_only():
    w = Wanted([WantedOrder(OrderSide.BUY, Decimal(1), Decimal(1))])  # type: ignore[arg-type]
    assert isinstance(w.orders, tuple) and Wanted.none("x").reason == "x" and Wanted().orders == ()
    with pytest.raises(TypeError, match="WantedOrder"):
        Wanted(({"side": "buy"},))  # type: ignore[arg-type]


def test_live_order_left_cancelling_and_keep():
    o = LiveOrder("c1", OrderSide.SELL, Decimal(10), Decimal(3), Decimal(1), OrderStatus.PARTIAL, 5)
    assert o.left == Decimal(2) and not o.cancelling
    assert o.keep() == WantedOrder(OrderSide.SELL, Decimal(10), Decimal(3))
    assert LiveOrder("c", OrderSide.BUY, Decimal(1), Decimal(1), Decimal(0), OrderStatus.CANCEL_PENDING, 0).cancelling


def test_balances_and_bps():
    b = Balances.from_mapping({"try": Decimal(5)}, known=True)
    assert b.free("TRY") == Decimal(5) and b.free("btc") == Decimal(0) and b.known
    assert not Balances().known
    assert bps(25) == Decimal("0.0025")


def test_view_helpers():
    book = BookSnapshot("BTCTRY", (PriceLevel(Decimal(99), Decimal(1)),), (PriceLevel(Decimal(101), Decimal(1)),),
                        None, 0, 0, "rest")  # fmt: skip
    from btcbot.testing.runtime_fakes import btctry_rules

    orders = (
        LiveOrder("b", OrderSide.BUY, Decimal(98), Decimal(1), Decimal(0), OrderStatus.OPEN, 0),
        LiveOrder("s", OrderSide.SELL, Decimal(102), Decimal(1), Decimal(0), OrderStatus.OPEN, 0),
    )
    limits = api.Limits(1, 1, Decimal(150), Decimal(150), Decimal(10), Decimal(2))
    view = api.MarketView("BTCTRY", 1, 0, book, btctry_rules(), orders, Balances(), api.Position(), (), limits)
    assert (view.best_bid, view.best_ask, view.mid) == (Decimal(99), Decimal(101), Decimal(100))
    assert view.base_asset == "BTC" and view.quote_asset == "TRY"
    assert [o.client_order_id for o in view.orders_on(OrderSide.SELL)] == ["s"]
    with pytest.raises(FrozenInstanceError):
        view.orders = ()  # type: ignore[misc]


def test_a_price_or_quantity_no_order_can_have_is_refused_where_it_is_made():
    # 1E+30 would later fail to fit the grid's precision with a bare decimal.InvalidOperation naming nothing.
    below = api.MAX_ORDER_VALUE - 1
    assert WantedOrder(OrderSide.BUY, below, below).price == below
    for field in ("price", "quantity"):
        values = {"price": Decimal(100), "quantity": Decimal(1), field: Decimal("1E+30")}
        with pytest.raises(ValueError, match=f"WantedOrder.{field} must be below 1000000000000000, not 1E"):
            WantedOrder(OrderSide.BUY, values["price"], values["quantity"])
    with pytest.raises(ValueError, match="must be below"):
        WantedOrder(OrderSide.BUY, api.MAX_ORDER_VALUE, Decimal(1))


def test_a_reason_is_text():
    # Anything else fails only when the decision record is written, in another actor, far from the strategy.
    with pytest.raises(TypeError, match=r"Wanted\.reason must be a str or None, not int"):
        Wanted.none(42)  # type: ignore[arg-type]
