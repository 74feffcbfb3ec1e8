"""Symbol rules from the exchangeinfo entries a dataset recorded, so replay obeys the rules of its venue."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from btcbot.domain.rules import SymbolRules
from btcbot.replay.dataset import DatasetError


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def rules_from_entry(path: str, symbol: str, entry: dict[str, Any]) -> SymbolRules:
    """BTCTurk's exchangeinfo symbol object -> SymbolRules; a dataset with a broken entry is a DatasetError."""
    try:
        filters = entry.get("filters") or []
        price_filter: dict[str, Any] = next((f for f in filters if f.get("filterType") == "PRICE_FILTER"), {})
        return SymbolRules(
            symbol=symbol,
            numerator=str(entry["numerator"]),
            denominator=str(entry["denominator"]),
            numerator_scale=int(entry["numeratorScale"]),
            denominator_scale=int(entry["denominatorScale"]),
            has_fraction=bool(entry.get("hasFraction", True)),
            min_exchange_value=_dec(price_filter.get("minExchangeValue")) or Decimal("0"),
            min_price=_dec(price_filter.get("minPrice")) or Decimal("0"),
            max_price=_dec(price_filter.get("maxPrice")) or Decimal("1e12"),
            minimum_limit_order_price=_dec(entry.get("minimumLimitOrderPrice")),
            maximum_limit_order_price=_dec(entry.get("maximumLimitOrderPrice")),
            status=str(entry.get("status", "")),
            order_methods=tuple(str(m) for m in entry.get("orderMethods") or ()),
            maximum_order_amount=_dec(entry.get("maximumOrderAmount")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DatasetError(
            f"dataset {path}: header exchange_info for {symbol} is malformed ({exc.__class__.__name__}: {exc})"
        ) from None


def rules_from_header(path: str, symbols: tuple[str, ...], info: dict[str, dict[str, Any]]) -> dict[str, SymbolRules]:
    missing = [s for s in symbols if s not in info]
    if missing:
        raise DatasetError(
            f"dataset {path}: header exchange_info has no entry for {', '.join(missing)}; re-record the dataset"
        )
    return {s: rules_from_entry(path, s, info[s]) for s in symbols}
