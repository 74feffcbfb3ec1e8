"""Value types that travel with one cycle through the actor graph (all immutable)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from btcbot.domain.market import BookSnapshot
from btcbot.runtime.freshness import FreshnessVerdict
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.positions import AccountState

Purpose = Literal["cycle", "startup", "stop"]
Details = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CycleContext:
    """What every stage of one cycle needs to know about it; copied, never shared mutably."""

    run_id: str
    cycle_id: int
    purpose: Purpose
    symbols: tuple[str, ...]
    started_wall_ms: int
    started_monotonic_ns: int
    trace_id: str | None
    live_orders: tuple[OrderRecord, ...] = ()
    free_balances: tuple[tuple[str, Decimal], ...] = ()
    kill_switch: bool = False
    account: AccountState = field(default_factory=AccountState)  # this bot's positions and recent fills
    orders_placed: int = 0  # orders this run submitted (or, observe-only, would have) before this cycle

    def balances_map(self) -> dict[str, Decimal]:
        return dict(self.free_balances)

    def live_on(self, symbol: str) -> tuple[OrderRecord, ...]:
        return tuple(r for r in self.live_orders if r.symbol == symbol)


@dataclass(frozen=True, slots=True)
class SymbolBook:
    symbol: str
    book: BookSnapshot | None
    error: str | None = None  # why the feed had nothing (exception class name), never a message body


@dataclass(frozen=True, slots=True)
class FreshBook:
    symbol: str
    book: BookSnapshot
    verdict: FreshnessVerdict


@dataclass(frozen=True, slots=True)
class SymbolOutcome:
    """The decision record of one symbol in one cycle, as it stands after the stage that set it."""

    symbol: str
    action: str  # block | refuse | skip | submit | would_submit | cancel | none
    reason_code: str
    details: Details = ()
    market_data_age_ms: float | None = None
    client_order_id: str | None = None

    def details_json(self) -> str:
        return json.dumps(dict(self.details), sort_keys=True)


@dataclass(frozen=True, slots=True)
class CycleStats:
    submitted: int = 0
    acknowledged: int = 0
    rejected: int = 0
    unknown: int = 0
    filled: int = 0
    cancelled: int = 0
    cancel_requests: int = 0
    orphans: int = 0
    unknown_resolved: int = 0
    would_submit: int = 0
    submit_latencies_ms: tuple[float, ...] = ()
    # Observe mode: cycle start -> the would-submit record (the decision path a live submit's round trip follows).
    would_submit_latencies_ms: tuple[float, ...] = ()
    reconcile_lag_ms: float | None = None
    # Book update (its local receipt) -> the cycle's first order request leaving (live) or would-submit (observe);
    # None when the cycle placed nothing. Later orders of the same cycle also wait for the earlier round trips.
    update_to_order_ms: float | None = None
    alerts: tuple[str, ...] = field(default=())  # reason codes of alerts raised this cycle
    # Open orders with this scope's prefix that this DB never placed, not adopted (btcbot.runtime.foreign_orders).
    foreign_orders: tuple[OrderRecord, ...] = ()
