"""How the simulator spells values on the wire: decimal strings, JSON numbers, BTCTurk row shapes."""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, Decimal
from typing import Any

from btcbot.sim.engine import PublicTrade, SimOrder, UserTrade
from btcbot.sim.symbols import SymbolSpec

_TEN_DP = Decimal("1e-10")


def dec(value: Decimal) -> str:
    """Plain decimal string, never exponent notation, no negative zero."""
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


def ws_order_model(model: int, spec: SymbolSpec, order: SimOrder) -> list[Any]:
    """451 OrderInsert / 452 OrderDelete / 453 OrderUpdate."""
    market_buy = order.method == "market" and order.side == "buy"
    left_base = Decimal(0) if market_buy else order.left
    price = order.price if order.method == "limit" else (order.first_fill_price or Decimal(0))
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
            "price": price_str(spec, price),
            "amount": dec(order.quantity) if market_buy else amount_str(spec, order.quantity),
            "numLeft": amount_str(spec, left_base),
            "denomLeft": dec(order.left if market_buy else left_base * price),
            "newOrderClientId": order.client_id or None,
        },
    ]


def ws_user_trade(spec: SymbolSpec, trade: UserTrade) -> list[Any]:
    sign = Decimal(-1) if trade.side == "sell" else Decimal(1)
    return [
        423,
        {
            "type": 423,
            "id": trade.id,
            "orderId": trade.order_id,
            "timestamp": trade.ts_ms,
            "numeratorSymbol": spec.numerator,
            "denominatorSymbol": spec.denominator,
            "amount": amount_str(spec, trade.amount),
            "preciseAmount": dec(sign * trade.amount),
            "price": price_str(spec, trade.price),
            "fee": dec(trade.fee),
            "tax": dec(trade.tax),
            "orderType": trade.side,
            "orderClientId": trade.client_id,
        },
    ]


def ws_order_match(spec: SymbolSpec, trade: UserTrade, order: SimOrder) -> list[Any]:
    filled = order.quantity - order.left
    return [
        441,
        {
            "type": 441,
            "id": order.id,
            "user": order.user_id,
            "method": 0 if order.method == "limit" else 1,
            "pair": spec.pair_id,
            "symbol": spec.name,
            "isBid": order.side == "buy",
            "price": price_str(spec, trade.price),
            "amount": amount_str(spec, trade.amount),
            "clientId": order.client_id,
            "timestamp": trade.ts_ms,
            "numTotal": amount_str(spec, filled if order.method == "limit" else trade.amount),
            "numLeft": amount_str(spec, order.left if order.method == "limit" else Decimal(0)),
            "denomTotal": dec(trade.price * trade.amount),
            "denomLeft": dec(order.left * order.price if order.method == "limit" else Decimal(0)),
        },
    ]
