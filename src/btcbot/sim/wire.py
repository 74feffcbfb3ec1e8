"""How the simulator spells values on the wire: decimal strings, JSON numbers, BTCTurk row shapes."""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, Context, Decimal, localcontext
from typing import Any

from btcbot.sim.engine import PublicTrade, SimOrder, UserTrade
from btcbot.sim.symbols import ASSETS, SymbolSpec

_WIDE = Context(prec=60)  # 16 fraction digits of a large notional exceed the default 28-digit precision


def dec(value: Decimal) -> str:
    """Plain decimal string, never exponent notation, no negative zero.

    Kept apart from the client's ``domain.decimal_text`` on purpose: the simulator shares only the clock with the
    code under test, so a formatting bug in the client cannot be mirrored by the venue it is tested against.
    """
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fixed(value: Decimal, places: int) -> str:
    return (
        format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN), "f")
        if value
        else ("0" if places == 0 else "0." + "0" * places)
    )


def price_str(spec: SymbolSpec, value: Decimal) -> str:
    return fixed(value, spec.price_scale)


def amount_str(spec: SymbolSpec, value: Decimal) -> str:
    return fixed(value, spec.numerator_scale)


def num(value: Decimal) -> int | float:
    """A JSON number (ticker, exchangeinfo band): an int when integral."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def envelope(data: Any, message: str | None = None) -> dict[str, Any]:
    return {"data": data, "success": True, "message": message, "code": 0}


def error_body(message: str, code: int) -> dict[str, Any]:
    return {"data": None, "success": False, "message": message, "code": code}


def order_row(spec: SymbolSpec, order: SimOrder, *, open_listing: bool = False) -> dict[str, Any]:
    market_buy = order.method == "market" and order.side == "buy"
    qty = dec(order.quantity) if market_buy else amount_str(spec, order.quantity)
    left = dec(order.left) if market_buy else amount_str(spec, order.left)
    price = order.price if order.method == "limit" else (order.first_fill_price or Decimal(0))
    return {
        "id": order.id,
        "price": price_str(spec, price),
        "amount": qty,
        "quantity": qty,
        "stopPrice": "0",
        "pairSymbol": spec.name,
        "pairSymbolNormalized": spec.normalized,
        "type": order.side,
        "method": order.method,
        "orderClientId": order.client_id,
        # Documented quirk: open-order rows carry time 0; the real time is updateTime.
        "time": 0 if open_listing else order.created_ms,
        "updateTime": order.updated_ms,
        "status": order.status,
        "leftAmount": left,
    }


def user_trade_row(spec: SymbolSpec, trade: UserTrade) -> dict[str, Any]:
    """A fill as ``GET /users/transactions/trade`` lists it and WS 423 pushes it: signed like the account's
    balance moves (``amount`` negative for a sell, ``fee`` and ``tax`` negative), ``preciseAmount`` a number."""
    sign = Decimal(-1) if trade.side == "sell" else Decimal(1)
    return {
        "id": trade.id,
        "timestamp": trade.ts_ms,
        "amount": dec(sign * trade.amount),
        "preciseAmount": float(sign * trade.amount),
        "fee": dec(-trade.fee),
        "tax": dec(-trade.tax),
        "price": price_str(spec, trade.price),
        "numeratorSymbol": spec.numerator,
        "denominatorSymbol": spec.denominator,
        "orderType": trade.side,
        "orderId": trade.order_id,
        "orderClientId": trade.client_id,
    }


def public_trade_row(spec: SymbolSpec, trade: PublicTrade) -> dict[str, Any]:
    return {
        "pair": spec.name,
        "pairNormalized": spec.normalized,
        "numerator": spec.numerator,
        "denominator": spec.denominator,
        "date": trade.ts_ms,
        "tid": str(trade.id),
        "price": price_str(spec, trade.price),
        "amount": amount_str(spec, trade.amount),
        "side": trade.taker_side,
    }


def ws_trade_item(trade: PublicTrade) -> dict[str, Any]:
    return {
        "D": str(trade.ts_ms),
        "I": str(trade.id),
        "A": fixed(trade.amount, 10),
        "P": fixed(trade.price, 10),
        "S": 1 if trade.taker_side == "buy" else 0,
    }


def _sixteen_digits(value: Decimal) -> str:
    return fixed(value, 16)


def ws_order_model(model: int, spec: SymbolSpec, order: SimOrder) -> list[Any]:
    """451 OrderInsert / 452 OrderDelete / 453 OrderUpdate, as captured on the real exchange (2022-2025).

    ``denomLeft`` is what the rest of the order is worth in the quote asset net of commission:
    ``price x numLeft x (1 + fee rate)`` for a buy (what stays reserved), ``x (1 - fee rate)`` for a sell.
    The rate is the taker rate, the one the engine reserves a resting buy at. 452 prints its decimals in the
    16-digit form the venue uses there; 451 and 453 print them plainly.
    """
    market_buy = order.method == "market" and order.side == "buy"
    left_base = Decimal(0) if market_buy else order.left
    price = order.price if order.method == "limit" else (order.first_fill_price or Decimal(0))
    taker_rate = spec.fees[1]
    with localcontext(_WIDE):
        if market_buy:
            denom_left = order.left  # the unspent quote amount
        elif order.side == "buy":
            denom_left = price * left_base * (1 + taker_rate)
        else:
            denom_left = price * left_base * (1 - taker_rate)
        text = _sixteen_digits if model == 452 else dec
        return [
            model,
            {
                "type": model,
                "pairId": spec.pair_id,
                "symbol": spec.name,
                "id": order.id,
                "method": 0 if order.method == "limit" else 1,
                "userId": order.user_id,
                "orderType": 0 if order.side == "buy" else 1,
                "price": text(price),
                "amount": text(order.quantity),
                "numLeft": text(left_base),
                "denomLeft": fixed(denom_left, 16),
                "newOrderClientId": order.client_id or None,
            },
        ]


def ws_user_trade(spec: SymbolSpec, trade: UserTrade) -> list[Any]:
    """423 UserTrade: the REST user-trade row itself, so a fill reads the same on both channels."""
    return [423, user_trade_row(spec, trade)]


def ws_order_match(spec: SymbolSpec, trade: UserTrade, order: SimOrder) -> list[Any]:
    """441 UserOrderMatch as captured: the fill's amount and price, no running totals (the venue sends none)."""
    return [
        441,
        {
            "type": 441,
            "id": order.id,
            "user": order.user_id,
            "isBid": order.side == "buy",
            "method": 0 if order.method == "limit" else 1,
            "pair": spec.pair_id,
            "symbol": spec.name,
            "amount": fixed(trade.amount, 10),
            "price": fixed(trade.price, 10),
            "clientId": order.client_id,
            "timestamp": str(trade.ts_ms),
        },
    ]


def ws_balance_updated(spec: SymbolSpec, user_id: int) -> list[Any]:
    """201 BalanceUpdated: which pair's assets moved ("pairId,numeratorId,denominatorId"); re-read via REST."""
    payload = f"{spec.pair_id},{ASSETS[spec.numerator].currency_id},{ASSETS[spec.denominator].currency_id}"
    return [201, {"type": 201, "userId": user_id, "payload": payload}]
