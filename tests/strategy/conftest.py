"""Views for the reference strategies' unit tests: a BTCTRY book around a mid, with whatever position and orders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.strategy import Balances, Limits, LiveOrder, MarketView, OrderSide, OrderStatus, Position
from btcbot.testing.runtime_fakes import btctry_rules

ViewFactory = Callable[..., MarketView]


def _view(
    mid: Decimal | int = 2_000_000,
    *,
    half_spread: int = 500,
    position: Decimal | str = "0",
    orders: tuple[LiveOrder, ...] = (),
    balances: dict[str, Any] | None = None,
    max_position: Decimal | str | None = None,
    cycle_id: int = 1,
) -> MarketView:
    mid = Decimal(mid)
    book = BookSnapshot(
        "BTCTRY",
        (PriceLevel(mid - half_spread, Decimal(1)),),
        (PriceLevel(mid + half_spread, Decimal(1)),),
        None,
        0,
        0,
        "replay",
    )
    limits = Limits(4, 4, Decimal(1000), Decimal(2000), Decimal(10), Decimal(2),
                    None if max_position is None else Decimal(max_position))  # fmt: skip
    free = {k: Decimal(v) for k, v in (balances or {}).items()}
    return MarketView(
        symbol="BTCTRY",
        cycle_id=cycle_id,
        now_ms=0,
        book=book,
        rules=btctry_rules(),
        orders=orders,
        balances=Balances.from_mapping(free, known=balances is not None),
        position=Position(Decimal(position)),
        fills=(),
        limits=limits,
    )


def live(side: OrderSide, price: int | Decimal, qty: str, cid: str = "c1", status: OrderStatus = OrderStatus.OPEN):
    return LiveOrder(cid, side, Decimal(price), Decimal(qty), Decimal(0), status, 0)


@pytest.fixture
def view() -> ViewFactory:
    return _view


@pytest.fixture
def order() -> Callable[..., LiveOrder]:
    return live
