"""Typed shapes of BTCTurk's REST responses (the ``data`` part of the envelope, or the bare body).

Bodies are parsed with ``json.loads(..., parse_float=Decimal)``, so a JSON number reaches these models as the
exact decimal text the venue wrote (ticker values are numbers on the wire). Decimal fields accept strings,
ints and such Decimals, never floats, and refuse a comma separator rather than misread it. Ids are ints: they
exceed 2**53 and must never pass through a float.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a decimal, got a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if "," in text:
            raise ValueError("decimal with a comma separator; refusing to guess its meaning")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a decimal: {value!r}") from None
    elif isinstance(value, float):
        # Only reached when a caller bypassed parse_float=Decimal; go through str so 0.1 stays 0.1.
        result = Decimal(str(value))
    else:
        raise ValueError(f"expected a decimal string or number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("decimal is not finite")
    return result


def _to_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, (Decimal, str)):
        dec = _to_decimal(value)
        if dec != dec.to_integral_value():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(dec)
    raise ValueError(f"expected an integer, got {type(value).__name__}")


Dec = Annotated[Decimal, BeforeValidator(_to_decimal)]
Int = Annotated[int, BeforeValidator(_to_int)]


class _Model(BaseModel):
    # The venue adds fields over time; unknown keys are ignored, known ones are checked.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ServerTime(_Model):
    server_time: Int = Field(alias="serverTime")


class PriceFilter(_Model):
    filter_type: str = Field(alias="filterType")
    min_price: Dec | None = Field(default=None, alias="minPrice")
    max_price: Dec | None = Field(default=None, alias="maxPrice")
    tick_size: Dec | None = Field(default=None, alias="tickSize")
    min_exchange_value: Dec | None = Field(default=None, alias="minExchangeValue")
    min_amount: Dec | None = Field(default=None, alias="minAmount")
    max_amount: Dec | None = Field(default=None, alias="maxAmount")


class SymbolInfo(_Model):
    id: Int
    name: str
    name_normalized: str | None = Field(default=None, alias="nameNormalized")
    status: str
    numerator: str
    denominator: str
    numerator_scale: Int = Field(alias="numeratorScale")
    denominator_scale: Int = Field(alias="denominatorScale")
    has_fraction: bool = Field(alias="hasFraction")
    filters: tuple[PriceFilter, ...] = ()
    order_methods: tuple[str, ...] = Field(default=(), alias="orderMethods")
    maximum_order_amount: Dec | None = Field(default=None, alias="maximumOrderAmount")
    maximum_limit_order_price: Dec | None = Field(default=None, alias="maximumLimitOrderPrice")
    minimum_limit_order_price: Dec | None = Field(default=None, alias="minimumLimitOrderPrice")

    def price_filter(self) -> PriceFilter | None:
        for f in self.filters:
            if f.filter_type == "PRICE_FILTER":
                return f
        return None


def _lenient_symbols(value: Any) -> Any:
    """Keep the entries that parse; one odd new listing must not take every other pair's rules down with it."""
    if not isinstance(value, list):
        return value
    good = []
    for item in value:
        try:
            good.append(SymbolInfo.model_validate(item))
        except ValidationError:
            continue
    return good


def _unparsed_names(data: Any) -> tuple[str, ...]:
    if not isinstance(data, dict) or not isinstance(data.get("symbols"), list):
        return ()
    names = []
    for item in data["symbols"]:
        try:
            SymbolInfo.model_validate(item)
        except ValidationError:
            name = item.get("name") if isinstance(item, dict) else None
            names.append(str(name).upper() if name else "?")
    return tuple(names)


class ExchangeInfo(_Model):
    server_time: Int | None = Field(default=None, alias="serverTime")
    symbols: Annotated[tuple[SymbolInfo, ...], BeforeValidator(_lenient_symbols)]
    # Names of entries whose shape did not parse (asked for, they are a ProtocolError, not "unknown symbol").
    unparsed: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _note_unparsed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "unparsed" not in data:
            return {**data, "unparsed": _unparsed_names(data)}
        return data

    def find(self, symbol: str) -> SymbolInfo | None:
        wanted = symbol.upper().replace("_", "")
        for s in self.symbols:
            if s.name.upper() == wanted:
                return s
        return None


class TickerRow(_Model):
    pair: str
    timestamp: Int
    last: Dec
    high: Dec | None = None
    low: Dec | None = None
    bid: Dec
    ask: Dec
    open: Dec | None = None
    volume: Dec | None = None
    average: Dec | None = None
    daily: Dec | None = None
    daily_percent: Dec | None = Field(default=None, alias="dailyPercent")


def _levels(value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError("order book side must be a list of [price, amount] pairs")
    return [tuple(level) if isinstance(level, list) else level for level in value]


Levels = Annotated[tuple[tuple[Dec, Dec], ...], BeforeValidator(_levels)]


class OrderBookData(_Model):
    timestamp: Int
    bids: Levels
    asks: Levels


class BalanceRow(_Model):
    asset: str
    balance: Dec
    locked: Dec
    free: Dec


class OrderRow(_Model):
    """A row of openOrders, allOrders or GET /order/{id}."""

    id: Int
    price: Dec
    amount: Dec | None = None
    quantity: Dec
    stop_price: Dec | None = Field(default=None, alias="stopPrice")
    pair_symbol: str = Field(alias="pairSymbol")
    type: str
    method: str
    order_client_id: str | None = Field(default=None, alias="orderClientId")
    time: Int = 0
    update_time: Int = Field(default=0, alias="updateTime")
    status: str
    left_amount: Dec = Field(alias="leftAmount")


class OpenOrdersData(_Model):
    asks: tuple[OrderRow, ...] = ()
    bids: tuple[OrderRow, ...] = ()


class SubmitReply(_Model):
    id: Int
    quantity: Dec | None = None
    price: Dec | None = None
    new_order_client_id: str | None = Field(default=None, alias="newOrderClientId")
    type: str | None = None
    method: str | None = None
    pair_symbol: str | None = Field(default=None, alias="pairSymbol")
    datetime: Int | None = None


class UserTradeRow(_Model):
    """A row of ``GET /users/transactions/trade`` and, with the same keys, the WebSocket 423 UserTrade object."""

    id: Int
    timestamp: Int
    amount: Dec
    fee: Dec = Decimal(0)
    tax: Dec = Decimal(0)
    price: Dec
    numerator_symbol: str = Field(alias="numeratorSymbol")
    denominator_symbol: str = Field(alias="denominatorSymbol")
    order_type: str = Field(alias="orderType")
    order_id: Int = Field(alias="orderId")
    order_client_id: str | None = Field(default=None, alias="orderClientId")


class OrderFrame(_Model):
    """The object of a WebSocket 451 OrderInsert, 452 OrderDelete or 453 OrderUpdate.

    The venue also sends pairId, method, userId, orderType, price, amount and denomLeft (the rest of the order
    in the quote asset, commission included); nothing here needs them. 452 prints decimals with 16 digits.
    """

    id: Int
    symbol: str = ""
    num_left: Dec = Field(alias="numLeft")
    new_order_client_id: str | None = Field(default=None, alias="newOrderClientId")
