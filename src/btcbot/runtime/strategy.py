"""The strategy step of a cycle: build the symbol's ``MarketView``, ask the strategy, diff wanted against live.

The strategy (``btcbot.strategy.Strategy``) only says what it wants working; ``plan`` turns that into a
``Proposal`` of submits (with deterministic client ids) and cancels, or a reason for doing nothing, which the risk
gate then judges. Reason codes when nothing is to be done: ``strategy:no_intent`` (it wants no order; its reason is
in the details) and ``strategy:order_active`` (what it wants is already working or waits for a cancel).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from btcbot import reason_codes as rc
from btcbot.domain.market import BookSnapshot
from btcbot.domain.orders import OrderIntent, client_order_id
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.cycle import CycleContext, Details
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.order_diff import OrderDiff, diff_orders
from btcbot.runtime.positions import AccountState
from btcbot.runtime.risk_gate import RiskLimits
from btcbot.strategy import Balances, Limits, LiveOrder, MarketView, Position, Strategy, Wanted

AnyStrategy = Strategy[Any]
# The strategy's own words go into a record every cycle: enough to say why, never a dump that bloats the state DB.
MAX_REASON_CHARS = 200


@dataclass(frozen=True, slots=True)
class Proposal:
    """One symbol's plan for this cycle: submits for the risk gate and cancels of orders no longer wanted."""

    symbol: str
    intents: tuple[OrderIntent, ...] = ()
    cancels: tuple[str, ...] = ()  # client ids of live orders to cancel
    skip_reason: str | None = None  # set iff there is nothing to submit or cancel
    details: Details = field(default=())


def decision_client_id(scope: str, run_id: str, cycle_id: int, symbol: str, index: int) -> str:
    """Deterministic per decision (run, cycle, symbol, index): a replayed decision re-derives the same id."""
    return client_order_id(scope, f"{run_id}/{cycle_id}/{symbol}/{index}")


def strategy_limits(limits: RiskLimits, symbol: str) -> Limits:
    return Limits(
        max_orders_per_cycle=limits.max_orders_per_cycle,
        max_open_orders=limits.max_open_orders_per_symbol,
        max_notional_per_order=limits.max_notional_per_order,
        notional_cap_per_cycle=limits.notional_cap_per_cycle,
        min_order_notional=limits.min_order_notional,
        price_collar_pct=limits.price_collar_pct,
        max_position_base=limits.position_cap(symbol),
    )


def strategy_orders(ctx: CycleContext, symbol: str) -> tuple[OrderRecord, ...]:
    """The live orders on ``symbol`` that are the strategy's to keep or cancel: the ones this bot placed.

    An adopted orphan (this scope's prefix, no decision of this DB) may be another process's: like the kill switch
    and the stop, the strategy leaves it alone; it still counts against the caps, and TTL ends it.
    """
    return tuple(r for r in ctx.live_on(symbol) if r.decision_id is not None)


def build_view(
    ctx: CycleContext,
    book: BookSnapshot,
    rules: SymbolRules,
    limits: Limits,
    *,
    orders: tuple[OrderRecord, ...],
    balances: Mapping[str, Decimal] | None,
) -> MarketView:
    account: AccountState = ctx.account
    pos = account.position(book.symbol)
    return MarketView(
        symbol=book.symbol,
        cycle_id=ctx.cycle_id,
        now_ms=ctx.started_wall_ms,
        book=book,
        rules=rules,
        orders=tuple(
            LiveOrder(r.client_order_id, r.side, r.price, r.quantity, r.filled_quantity, r.status, r.created_ms)
            for r in orders
        ),
        balances=Balances.from_mapping(balances or {}, known=balances is not None),
        position=Position(pos.base, pos.average_cost, pos.realized_pnl, pos.fees),
        fills=account.fills_on(book.symbol),
        limits=limits,
    )


def ask(strategy: AnyStrategy, view: MarketView) -> Wanted:
    """What the strategy wants; anything it does wrong is raised as an ``Exception`` naming it (an actor failure).

    ``decide`` runs in a Decimal context of its own: a strategy that sets a precision or rounding for its arithmetic
    does not change the rounding of its orders onto the grid, which runs in the same thread afterwards.
    """
    try:
        with localcontext():
            wanted = strategy.decide(view)
    except Exception:
        raise
    except BaseException as exc:  # SystemExit and the like: see below
        # Pykka answers anything that is not an Exception by stopping every actor without a word: the run would
        # hang until the cycle timeout and blame no one, with nothing left to cancel an order at the stop.
        raise RuntimeError(f"strategy {strategy.name}: decide() raised {exc!r}") from exc
    if not isinstance(wanted, Wanted):
        # A broken strategy is an actor failure (safe mode), never a guess at what it meant.
        raise TypeError(f"strategy {strategy.name}: decide() returned {type(wanted).__name__}, not Wanted")
    return wanted


def _skip(symbol: str, wanted: Wanted, diff: OrderDiff, live: tuple[OrderRecord, ...]) -> Proposal:
    reason = wanted.reason[:MAX_REASON_CHARS] if wanted.reason else None
    if live:  # what it wants is working, or waits for an order still in flight (a submit, a cancel)
        working = diff.keep[0] if diff.keep else live[0]
        details: Details = (("client_order_id", working.client_order_id),)
        if diff.deferred:
            details = (*details, ("deferred", str(len(diff.deferred))))
        if reason:
            details = (*details, ("why", reason))
        return Proposal(symbol, skip_reason=rc.STRATEGY_ORDER_ACTIVE, details=details)
    why = "size_rounds_to_zero" if diff.dropped else (reason or "wants_none")
    return Proposal(symbol, skip_reason=rc.STRATEGY_NO_INTENT, details=(("why", why),))


def plan(
    wanted: Wanted, live: tuple[OrderRecord, ...], rules: SymbolRules, *, ctx: CycleContext, scope: str
) -> Proposal:
    symbol = rules.symbol
    diff = diff_orders(wanted.orders, live, rules)
    if not diff.acts:
        return _skip(symbol, wanted, diff, live)
    intents = tuple(
        OrderIntent(
            symbol=symbol,
            side=w.side,
            price=w.price,
            quantity=w.quantity,
            client_order_id=decision_client_id(scope, ctx.run_id, ctx.cycle_id, symbol, i),
            post_only=w.post_only,
        )
        for i, w in enumerate(diff.submit)
    )
    return Proposal(symbol, intents=intents, cancels=tuple(r.client_order_id for r in diff.cancel))
