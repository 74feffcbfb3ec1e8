"""Venue rows -> btcbot domain types. Pure functions; a row that cannot be mapped is a ProtocolError."""

from __future__ import annotations

from decimal import Decimal

from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.domain.orders import Balance, Fill, OrderMethod, OrderSide, VenueOrder, VenueOrderStatus
from btcbot.domain.rules import SymbolRules
from btcbot.errors import ProtocolError
from btcbot.exchange.btcturk.models import BalanceRow, OrderBookData, OrderRow, SymbolInfo, UserTradeRow

_STATUS = {s.value.lower(): s for s in VenueOrderStatus} | {"cancelled": VenueOrderStatus.CANCELED}
# The bot only places limit and market orders. Stop orders placed by a human on the same account still count
# as resting orders of their kind, so they map to the closest method rather than being dropped.
_METHOD = {
    "limit": OrderMethod.LIMIT,
    "market": OrderMethod.MARKET,
    "stoplimit": OrderMethod.LIMIT,
    "stopmarket": OrderMethod.MARKET,
}


def norm_symbol(symbol: str) -> str:
    return symbol.upper().replace("_", "")


def side_of(text: str) -> OrderSide:
    try:
        return OrderSide(text.strip().lower())
    except ValueError:
        raise ProtocolError(f"BTCTurk sent an unknown order side {text!r}") from None


def venue_order(row: OrderRow) -> VenueOrder:
    status = _STATUS.get(row.status.strip().lower())
    if status is None:
        raise ProtocolError(f"BTCTurk sent an unknown order status {row.status!r} for order {row.id}")
    method = _METHOD.get(row.method.strip().lower().replace("_", ""))
    if method is None:
        raise ProtocolError(f"BTCTurk sent an unknown order method {row.method!r} for order {row.id}")
    return VenueOrder(
        exchange_order_id=row.id,
        client_order_id=row.order_client_id or None,
        symbol=norm_symbol(row.pair_symbol),
        side=side_of(row.type),
        method=method,
        price=row.price,
        quantity=row.quantity,
        left_amount=row.left_amount,
        status=status,
        # Open-order rows carry time=0; updateTime is the real time there.
        created_ms=row.time or row.update_time,
        updated_ms=row.update_time or row.time,
    )


def balance(row: BalanceRow) -> Balance:
    return Balance(asset=row.asset.upper(), total=row.balance, free=row.free, locked=row.locked)


def fill(row: UserTradeRow) -> Fill:
    return Fill(
        trade_id=row.id,
        exchange_order_id=row.order_id,
        client_order_id=row.order_client_id or None,
        symbol=norm_symbol(row.numerator_symbol + row.denominator_symbol),
        side=side_of(row.order_type),
        price=row.price,
        quantity=abs(row.amount),
        fee=abs(row.fee),
        tax=abs(row.tax),
        ts_ms=row.timestamp,
    )


def symbol_rules(info: SymbolInfo) -> SymbolRules:
    pf = info.price_filter()
    if pf is None or pf.min_exchange_value is None:
        raise ProtocolError(f"exchangeinfo for {info.name} has no PRICE_FILTER.minExchangeValue")
    return SymbolRules(
        symbol=norm_symbol(info.name),
        numerator=info.numerator.upper(),
        denominator=info.denominator.upper(),
        numerator_scale=info.numerator_scale,
        denominator_scale=info.denominator_scale,
        has_fraction=info.has_fraction,
        min_exchange_value=pf.min_exchange_value,
        min_price=pf.min_price if pf.min_price is not None else Decimal(0),
        max_price=pf.max_price if pf.max_price is not None else Decimal("Infinity"),
        minimum_limit_order_price=info.minimum_limit_order_price,
        maximum_limit_order_price=info.maximum_limit_order_price,
        status=info.status,
        order_methods=tuple(m.upper() for m in info.order_methods),
        maximum_order_amount=info.maximum_order_amount,
    )


def rest_book(symbol: str, data: OrderBookData, *, received_monotonic_ns: int, received_wall_ms: int) -> BookSnapshot:
    return BookSnapshot(
        symbol=norm_symbol(symbol),
        bids=tuple(PriceLevel(p, a) for p, a in data.bids),
        asks=tuple(PriceLevel(p, a) for p, a in data.asks),
        exchange_ts_ms=data.timestamp,
        received_monotonic_ns=received_monotonic_ns,
        received_wall_ms=received_wall_ms,
        source="rest",
    )
