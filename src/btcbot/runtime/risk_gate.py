"""The risk gate: every intent passes these checks in this order, and each refusal has its own code.

Order: kill switch, safe-mode latch, an UNKNOWN order on the symbol, orders per cycle, open orders per
symbol, notional per cycle, notional per order, our minimum notional, the exchange minimum, the price
collar against the fresh reference price (reject, never clamp), and the available balance. Arming is not a
refusal here: an observe-only run takes the whole path and records ``dry_run:would_submit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderIntent, OrderSide, OrderStatus
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.settings import Settings

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_orders_per_cycle: int
    max_open_orders_per_symbol: int
    notional_cap_per_cycle: Decimal
    max_notional_per_order: Decimal
    min_order_notional: Decimal
    price_collar_pct: Decimal

    @classmethod
    def from_settings(cls, settings: Settings) -> RiskLimits:
        return cls(
            max_orders_per_cycle=settings.max_orders_per_cycle,
            max_open_orders_per_symbol=settings.max_open_orders_per_symbol,
            notional_cap_per_cycle=settings.notional_cap_try_per_cycle,
            max_notional_per_order=settings.max_notional_per_order_try,
            min_order_notional=settings.min_order_notional_try,
            price_collar_pct=settings.price_collar_pct,
        )


@dataclass(frozen=True, slots=True)
class RiskInput:
    """One symbol's proposal with what the gate needs to judge it."""

    symbol: str
    intents: tuple[OrderIntent, ...]
    rules: SymbolRules | None
    reference_price: Decimal | None  # mid of the fresh book


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    symbol: str
    approved: tuple[OrderIntent, ...]
    refusal: str | None  # the first refusal's code, None when every intent passed
    details: tuple[tuple[str, str], ...] = field(default=())


def _free(balances: Mapping[str, Decimal], asset: str) -> Decimal:
    return balances.get(asset.upper(), Decimal(0))


@dataclass
class _CycleBudget:
    orders: int = 0
    notional: Decimal = Decimal(0)
    spent: dict[str, Decimal] = field(default_factory=dict)


def _check_intent(
    intent: OrderIntent,
    inp: RiskInput,
    limits: RiskLimits,
    open_on_symbol: int,
    budget: _CycleBudget,
    balances: Mapping[str, Decimal] | None,
) -> tuple[str | None, str]:
    notional = intent.notional
    if budget.orders + 1 > limits.max_orders_per_cycle:
        return rc.RISK_MAX_ORDERS_PER_CYCLE, f"limit={limits.max_orders_per_cycle}"
    if open_on_symbol + 1 > limits.max_open_orders_per_symbol:
        return rc.RISK_MAX_OPEN_ORDERS_PER_SYMBOL, f"open={open_on_symbol} limit={limits.max_open_orders_per_symbol}"
    if budget.notional + notional > limits.notional_cap_per_cycle:
        return rc.RISK_NOTIONAL_CAP_PER_CYCLE, f"notional={notional} cap={limits.notional_cap_per_cycle}"
    if notional > limits.max_notional_per_order:
        return rc.RISK_MAX_NOTIONAL_PER_ORDER, f"notional={notional} cap={limits.max_notional_per_order}"
    if notional < limits.min_order_notional:
        return rc.RISK_MIN_NOTIONAL, f"notional={notional} min={limits.min_order_notional}"
    rules = inp.rules
    if rules is None or not rules.tradable:
        return rc.RISK_SYMBOL_NOT_TRADABLE, "symbol rules missing or not TRADING"
    if notional < rules.min_exchange_value:
        return rc.RISK_EXCHANGE_MIN_NOTIONAL, f"notional={notional} exchange_min={rules.min_exchange_value}"
    ref = inp.reference_price
    if ref is None or ref <= 0:
        return rc.RISK_PRICE_COLLAR, "no reference price"
    deviation = abs(intent.price - ref) / ref * _HUNDRED
    if deviation > limits.price_collar_pct or not rules.price_in_band(intent.price):
        return rc.RISK_PRICE_COLLAR, f"price={intent.price} reference={ref} collar_pct={limits.price_collar_pct}"
    if balances is None:
        return None, ""  # unknown (observe-only without credentials): nothing is sent, so nothing to protect
    asset, need = (rules.denominator, notional) if intent.side is OrderSide.BUY else (rules.numerator, intent.quantity)
    already = budget.spent.get(asset.upper(), Decimal(0))
    if already + need > _free(balances, asset):
        return rc.RISK_INSUFFICIENT_BALANCE, f"asset={asset} need={need} free={_free(balances, asset) - already}"
    return None, ""


def assess(
    inputs: Sequence[RiskInput],
    *,
    limits: RiskLimits,
    live_orders: Sequence[OrderRecord],
    free_balances: Mapping[str, Decimal] | None,
    kill_switch: bool,
    safe_mode_latched: bool,
) -> list[RiskVerdict]:
    """Judge every symbol's intents for one cycle; caps per cycle are shared across symbols, in input order.

    ``free_balances=None`` means the balances are unknown; the caller passes it only in observe mode.
    """
    budget = _CycleBudget()
    verdicts: list[RiskVerdict] = []
    for inp in inputs:
        if kill_switch:
            verdicts.append(RiskVerdict(inp.symbol, (), rc.RISK_KILL_SWITCH))
            continue
        if safe_mode_latched:
            verdicts.append(RiskVerdict(inp.symbol, (), rc.RISK_SAFE_MODE))
            continue
        mine = [r for r in live_orders if r.symbol == inp.symbol]
        if any(r.status is OrderStatus.UNKNOWN for r in mine):
            unknown = next(r.client_order_id for r in mine if r.status is OrderStatus.UNKNOWN)
            verdicts.append(RiskVerdict(inp.symbol, (), rc.RISK_UNKNOWN_ORDER, (("client_order_id", unknown),)))
            continue
        approved: list[OrderIntent] = []
        refusal: str | None = None
        detail = ""
        for intent in inp.intents:
            code, why = _check_intent(intent, inp, limits, len(mine) + len(approved), budget, free_balances)
            if code is not None:
                refusal, detail = refusal or code, detail or why
                continue
            approved.append(intent)
            budget.orders += 1
            budget.notional += intent.notional
            assert inp.rules is not None  # noqa: S101 - checked above
            asset = inp.rules.denominator if intent.side is OrderSide.BUY else inp.rules.numerator
            need = intent.notional if intent.side is OrderSide.BUY else intent.quantity
            budget.spent[asset.upper()] = budget.spent.get(asset.upper(), Decimal(0)) + need
        details = (("why", detail),) if detail else ()
        verdicts.append(RiskVerdict(inp.symbol, tuple(approved), refusal, details))
    return verdicts
