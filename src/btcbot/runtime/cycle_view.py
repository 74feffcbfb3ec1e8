"""What the operator sees of one finished cycle: an immutable view the session hands to ``RuntimeDeps.on_cycle``.

The session builds it after each cycle from what it already holds (the cycle's outcomes and stats, the order
ledger's view, the gate); renderers (``btcbot.console.live_line``) only format it. Building it is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from btcbot import reason_codes as rc
from btcbot.actors.state_writer import cycle_reason
from btcbot.domain.orders import OrderStatus
from btcbot.runtime.cycle import CycleStats, SymbolOutcome
from btcbot.runtime.lifecycle import OrderRecord


@dataclass(frozen=True, slots=True)
class SymbolView:
    symbol: str
    reason_code: str  # the symbol's headline code this cycle (see ``cycle_reason``)
    market_data_age_ms: float | None


@dataclass(frozen=True, slots=True)
class CycleView:
    command: str  # run | canary_once | canary_loop | ...
    cycle_id: int
    max_cycles: int | None  # None: until stopped
    mode: str  # live | observe, as the gate stood at the end of the cycle
    safe_mode: str  # off | on (SAFE_MODE=true) | latched:<cause>
    symbols: tuple[SymbolView, ...]
    order_submit_latency_ms: float | None  # the cycle's slowest acknowledged submit
    reconcile_lag_ms: float | None
    update_to_order_ms: float | None
    cycle_ms: float | None  # RunCycle sent -> CycleCompleted received; None for an aborted cycle
    open_orders: int  # this bot's OPEN, PARTIAL and CANCEL_PENDING orders
    unknown_orders: int
    elapsed_s: float  # since the run's start-up began
    remaining_s: float | None  # at most this long to the last cycle; None when unbounded


@dataclass(frozen=True, slots=True)
class CycleFacts:
    """What the session knows about one cycle when it ends; ``outcomes`` is None for an aborted cycle."""

    cycle_id: int
    outcomes: tuple[SymbolOutcome, ...] | None
    stats: CycleStats | None
    cycle_ms: float | None
    live_orders: tuple[OrderRecord, ...]


def symbol_views(symbols: Sequence[str], outcomes: Sequence[SymbolOutcome] | None) -> tuple[SymbolView, ...]:
    """One entry per symbol in the run's order; an aborted cycle shows ``supervisor:cycle_aborted`` for each."""
    views = []
    for symbol in symbols:
        mine = [o for o in outcomes or () if o.symbol == symbol]
        if outcomes is None:
            code = rc.SUPERVISOR_CYCLE_ABORTED
        elif not mine:
            code = rc.CYCLE_OK
        else:
            code = cycle_reason([o.reason_code for o in mine])
        age = next((o.market_data_age_ms for o in mine if o.market_data_age_ms is not None), None)
        views.append(SymbolView(symbol, code, age))
    return tuple(views)


def build_cycle_view(
    facts: CycleFacts,
    *,
    command: str,
    symbols: Sequence[str],
    max_cycles: int | None,
    cycle_seconds: float,
    live: bool,
    safe_mode_setting: bool,
    safe_mode_cause: str | None,
    elapsed_s: float,
) -> CycleView:
    stats = facts.stats or CycleStats()
    safe_mode = "on" if safe_mode_setting else "off"
    if safe_mode_cause is not None:
        safe_mode = f"latched:{safe_mode_cause}"
    remaining = None if max_cycles is None else max(0, max_cycles - facts.cycle_id) * cycle_seconds
    return CycleView(
        command=command,
        cycle_id=facts.cycle_id,
        max_cycles=max_cycles,
        mode="live" if live else "observe",
        safe_mode=safe_mode,
        symbols=symbol_views(symbols, facts.outcomes),
        order_submit_latency_ms=max(stats.submit_latencies_ms, default=None),
        reconcile_lag_ms=stats.reconcile_lag_ms,
        update_to_order_ms=stats.update_to_order_ms,
        cycle_ms=facts.cycle_ms,
        open_orders=sum(1 for r in facts.live_orders if r.status.is_open),
        unknown_orders=sum(1 for r in facts.live_orders if r.status is OrderStatus.UNKNOWN),
        elapsed_s=elapsed_s,
        remaining_s=remaining,
    )
