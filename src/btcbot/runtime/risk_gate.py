"""The risk gate: every intent passes these checks in this order, and each refusal has its own code.

Order: kill switch, safe-mode latch, an UNKNOWN order on the symbol (these three refuse the whole symbol), then
per intent: orders per run (``canary once`` with a strategy), orders per cycle, open orders per symbol, notional
per cycle, notional per order, our minimum notional, the exchange minimum, post-only against the fresh book, the
price collar against the fresh reference price (reject, never clamp), the position cap (MAX_POSITION_BASE) and the
free balance (quote for a buy, with the fee the venue reserves on top; base for a sell). Every refused intent is
its own refusal. Arming is not a refusal here: an observe-only run takes the whole path and records
``dry_run:would_submit``.

The position check takes the worst case on each side: the bot's net position (``btcbot.runtime.positions``) plus
the remaining quantity of every live buy on the symbol, the buys approved before this one and this one must stay
at or below the cap; the net position minus the same for sells at or above minus the cap. Open orders on the other
side never make room (they may not fill).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderIntent, OrderSide, OrderStatus
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.settings import ALL_SYMBOLS, Settings

_HUNDRED = Decimal(100)
CAP_CURRENCY = "TRY"  # the currency of every notional cap (the settings named *_TRY)
# The venue reserves notional x (1 + taker fee) of the quote for a limit buy and refuses it (BALANCE_NOT_ENOUGH)
# when that is not free. 0.24 % is the TRY pairs' level-1 taker rate, the highest tier: never less than charged.
BUY_FEE_RESERVE = Decimal("0.0024")


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_orders_per_cycle: int
    max_open_orders_per_symbol: int
    notional_cap_per_cycle: Decimal
    max_notional_per_order: Decimal
    min_order_notional: Decimal
    price_collar_pct: Decimal
    # Per symbol, or "*" for every symbol (Settings.position_caps); empty: no position cap.
    max_position_base: tuple[tuple[str, Decimal], ...] = ()
    max_orders_per_run: int | None = None  # canary once with a strategy: 1

    @classmethod
    def from_settings(cls, settings: Settings, *, max_orders_per_run: int | None = None) -> RiskLimits:
        return cls(
            max_orders_per_cycle=settings.max_orders_per_cycle,
            max_open_orders_per_symbol=settings.max_open_orders_per_symbol,
            notional_cap_per_cycle=settings.notional_cap_try_per_cycle,
            max_notional_per_order=settings.max_notional_per_order_try,
            min_order_notional=settings.min_order_notional_try,
            price_collar_pct=settings.price_collar_pct,
            max_position_base=tuple(settings.position_caps.items()),
            max_orders_per_run=max_orders_per_run,
        )

    def position_cap(self, symbol: str) -> Decimal | None:
        caps = dict(self.max_position_base)
        return caps.get(symbol, caps.get(ALL_SYMBOLS))


@dataclass(frozen=True, slots=True)
class RiskInput:
    """One symbol's proposal with what the gate needs to judge it."""

    symbol: str
    intents: tuple[OrderIntent, ...]
    rules: SymbolRules | None
    reference_price: Decimal | None  # mid of the fresh book
    best_bid: Decimal | None = None  # of the fresh book: post-only intents must stay behind it
    best_ask: Decimal | None = None
    cancels: tuple[str, ...] = ()  # client ids the strategy no longer wants; passed on unless the symbol is refused


Details = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    reason_code: str
    details: Details = ()
    intent: OrderIntent | None = None  # None: the whole symbol (kill switch, safe mode, an UNKNOWN order)


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    symbol: str
    approved: tuple[OrderIntent, ...] = ()
    refused: tuple[Refusal, ...] = ()
    cancels: tuple[str, ...] = ()

    @property
    def refusal(self) -> str | None:
        """The first refusal's code; None when nothing was refused."""
        return self.refused[0].reason_code if self.refused else None

    @property
    def details(self) -> Details:
        return self.refused[0].details if self.refused else ()


def _free(balances: Mapping[str, Decimal], asset: str) -> Decimal:
    return balances.get(asset.upper(), Decimal(0))


@dataclass
class _CycleBudget:
    orders: int = 0
    notional: Decimal = Decimal(0)
    spent: dict[str, Decimal] = field(default_factory=dict)
    # symbol -> the net position if every buy (long) / every sell (short) on it filled
    long: dict[str, Decimal] = field(default_factory=dict)
    short: dict[str, Decimal] = field(default_factory=dict)


def _reserve(intent: OrderIntent, rules: SymbolRules) -> tuple[str, Decimal]:
    """The asset an intent locks at the venue and how much of it."""
    if intent.side is OrderSide.BUY:
        return rules.denominator.upper(), intent.notional * (1 + BUY_FEE_RESERVE)
    return rules.numerator.upper(), intent.quantity


def _left(mine: Sequence[OrderRecord], side: OrderSide) -> Decimal:
    return sum((r.quantity - r.filled_quantity for r in mine if r.side is side), Decimal(0))


def _check_intent(
    intent: OrderIntent,
    inp: RiskInput,
    limits: RiskLimits,
    open_on_symbol: int,
    budget: _CycleBudget,
    balances: Mapping[str, Decimal] | None,
    placed_before: int,
) -> tuple[str | None, str]:
    notional = intent.notional
    run_cap = limits.max_orders_per_run
    if run_cap is not None and placed_before + budget.orders + 1 > run_cap:
        return rc.RISK_MAX_ORDERS_PER_RUN, f"placed={placed_before + budget.orders} limit={run_cap}"
    if budget.orders + 1 > limits.max_orders_per_cycle:
        return rc.RISK_MAX_ORDERS_PER_CYCLE, f"limit={limits.max_orders_per_cycle}"
    if open_on_symbol + 1 > limits.max_open_orders_per_symbol:
        return rc.RISK_MAX_OPEN_ORDERS_PER_SYMBOL, f"open={open_on_symbol} limit={limits.max_open_orders_per_symbol}"
    if inp.rules is not None and inp.rules.denominator != CAP_CURRENCY:
        # Every notional cap is in TRY: a notional in another currency compared with them would mean nothing.
        return rc.RISK_QUOTE_NOT_TRY, f"quote={inp.rules.denominator} caps_in={CAP_CURRENCY}"
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
    if intent.post_only:
        touch = inp.best_ask if intent.side is OrderSide.BUY else inp.best_bid
        takes = touch is None or (intent.price >= touch if intent.side is OrderSide.BUY else intent.price <= touch)
        if takes:
            return rc.RISK_POST_ONLY_WOULD_TAKE, f"side={intent.side.value} price={intent.price} touch={touch}"
    ref = inp.reference_price
    if ref is None or ref <= 0:
        return rc.RISK_PRICE_COLLAR, "no reference price"
    deviation = abs(intent.price - ref) / ref * _HUNDRED
    if deviation > limits.price_collar_pct or not rules.price_in_band(intent.price):
        return rc.RISK_PRICE_COLLAR, f"price={intent.price} reference={ref} collar_pct={limits.price_collar_pct}"
    cap = limits.position_cap(inp.symbol)
    if cap is not None:
        if intent.side is OrderSide.BUY and budget.long[inp.symbol] + intent.quantity > cap:
            return rc.RISK_MAX_POSITION, f"projected={budget.long[inp.symbol] + intent.quantity} cap={cap}"
        if intent.side is OrderSide.SELL and budget.short[inp.symbol] - intent.quantity < -cap:
            return rc.RISK_MAX_POSITION, f"projected={budget.short[inp.symbol] - intent.quantity} cap=-{cap}"
    if balances is None:
        return None, ""  # unknown (observe-only without credentials): nothing is sent, so nothing to protect
    asset, need = _reserve(intent, rules)
    already = budget.spent.get(asset, Decimal(0))
    if already + need > _free(balances, asset):
        return rc.RISK_INSUFFICIENT_BALANCE, f"asset={asset} need={need} free={_free(balances, asset) - already}"
    return None, ""


def _intent_details(intent: OrderIntent, why: str) -> Details:
    return (
        ("side", intent.side.value),
        ("price", str(intent.price)),
        ("quantity", str(intent.quantity)),
        ("notional", str(intent.notional)),
        ("why", why),
    )


def assess(
    inputs: Sequence[RiskInput],
    *,
    limits: RiskLimits,
    live_orders: Sequence[OrderRecord],
    free_balances: Mapping[str, Decimal] | None,
    kill_switch: bool,
    safe_mode_latched: bool,
    positions: Mapping[str, Decimal] | None = None,
    orders_placed: int = 0,
) -> list[RiskVerdict]:
    """Judge every symbol's intents for one cycle; caps per cycle are shared across symbols, in input order.

    ``free_balances=None`` means the balances are unknown; the caller passes it only in observe mode.
    ``positions``: the bot's net position per symbol; ``orders_placed``: orders this run placed before this cycle.
    """
    budget = _CycleBudget()
    verdicts: list[RiskVerdict] = []
    for inp in inputs:
        if kill_switch:
            verdicts.append(RiskVerdict(inp.symbol, refused=(Refusal(rc.RISK_KILL_SWITCH),)))
            continue
        if safe_mode_latched:
            verdicts.append(RiskVerdict(inp.symbol, refused=(Refusal(rc.RISK_SAFE_MODE),)))
            continue
        mine = [r for r in live_orders if r.symbol == inp.symbol]
        if any(r.status is OrderStatus.UNKNOWN for r in mine):
            unknown = next(r.client_order_id for r in mine if r.status is OrderStatus.UNKNOWN)
            refusal = Refusal(rc.RISK_UNKNOWN_ORDER, (("client_order_id", unknown),))
            verdicts.append(RiskVerdict(inp.symbol, refused=(refusal,)))
            continue
        position = (positions or {}).get(inp.symbol, Decimal(0))
        budget.long[inp.symbol] = position + _left(mine, OrderSide.BUY)
        budget.short[inp.symbol] = position - _left(mine, OrderSide.SELL)
        approved: list[OrderIntent] = []
        refused: list[Refusal] = []
        for intent in inp.intents:
            code, why = _check_intent(
                intent, inp, limits, len(mine) + len(approved), budget, free_balances, orders_placed
            )
            if code is not None:
                refused.append(Refusal(code, _intent_details(intent, why), intent))
                continue
            approved.append(intent)
            budget.orders += 1
            budget.notional += intent.notional
            assert inp.rules is not None  # noqa: S101 - checked above
            asset, need = _reserve(intent, inp.rules)
            budget.spent[asset] = budget.spent.get(asset, Decimal(0)) + need
            if intent.side is OrderSide.BUY:
                budget.long[inp.symbol] += intent.quantity
            else:
                budget.short[inp.symbol] -= intent.quantity
        verdicts.append(RiskVerdict(inp.symbol, tuple(approved), tuple(refused), inp.cancels))
    return verdicts
