"""The supervisor's policy, as plain objects: when to latch safe mode and whether a restart is allowed."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from btcbot.domain.orders import OrderStatus
from btcbot.runtime.freshness import BLIND_CODES
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.settings import Settings

# Rates over tiny samples mean nothing: one reject out of one order is not a 100% reject rate.
MIN_ORDERS_FOR_RATE = 5
RESTART_BACKOFF_BASE_S = 0.05
RESTART_BACKOFF_MAX_S = 2.0
# What the operator does about an order still UNKNOWN when the run ends: the venue is the only truth.
UNKNOWN_NEXT_ACTION = (
    "check the venue with `btcbot orders list`; once it shows the order, cancel it with "
    "`btcbot orders cancel-all --confirm`"
)


def unknown_orders_text(client_order_ids: Iterable[str]) -> str:
    """Names every UNKNOWN order and the next action, for the run's anomalies and the escalation record."""
    ids = sorted(client_order_ids)
    return f"{len(ids)} order(s) still UNKNOWN ({', '.join(ids)}): {UNKNOWN_NEXT_ACTION}"


class RestartBudget:
    """At most ``budget`` restarts within any ``window_ms``; exponential backoff between them."""

    def __init__(self, budget: int, window_ms: int) -> None:
        self._budget = budget
        self._window_ms = window_ms
        self._times: deque[int] = deque()

    def allow(self, now_ms: int) -> bool:
        while self._times and now_ms - self._times[0] >= self._window_ms:
            self._times.popleft()
        if len(self._times) >= self._budget:
            return False
        self._times.append(now_ms)
        return True

    def backoff_s(self) -> float:
        backoff: float = RESTART_BACKOFF_BASE_S * (2 ** max(0, len(self._times) - 1))
        return min(RESTART_BACKOFF_MAX_S, backoff)


@dataclass(frozen=True, slots=True)
class Escalation:
    cause: str  # short machine-readable cause, e.g. actor_failure:strategy
    detail: str
    # The run stops after this cycle: nothing it could do would settle the cause (an order the venue still
    # does not show after UNKNOWN_ORDER_MAX_AGE_SECONDS needs the operator).
    ends_run: bool = False


@dataclass(frozen=True, slots=True)
class MonitorLimits:
    stale_cycles: int
    unknown_max_age_ms: int
    max_reject_rate: Decimal
    max_latency_p95_ms: Decimal

    @classmethod
    def from_settings(cls, settings: Settings) -> MonitorLimits:
        return cls(
            stale_cycles=settings.safe_mode_stale_cycles,
            unknown_max_age_ms=settings.unknown_order_max_age_seconds * 1000,
            max_reject_rate=settings.doctor_max_reject_rate,
            max_latency_p95_ms=settings.doctor_max_latency_p95_ms,
        )


def p95(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    idx = max(0, math.ceil(0.95 * len(ordered)) - 1)
    value: float = ordered[min(idx, len(ordered) - 1)]
    return value


class SafeModeMonitor:
    """Watches cycle outcomes and order state for the conditions that latch safe mode."""

    def __init__(self, limits: MonitorLimits) -> None:
        self._limits = limits
        # Per symbol: the codes of the current run of blind cycles (stale, invalid book or unavailable).
        self._blind_streak: dict[str, Counter[str]] = {}
        self._submitted = 0
        self._rejected = 0
        self._latencies: deque[float] = deque(maxlen=500)

    def observe_cycle(
        self,
        reason_codes: Mapping[str, str],
        live_orders: Iterable[OrderRecord],
        now_ms: int,
        *,
        submitted: int = 0,
        rejected: int = 0,
        latencies_ms: Iterable[float] = (),
    ) -> Escalation | None:
        for symbol, code in reason_codes.items():
            streak = self._blind_streak.setdefault(symbol, Counter())
            if code in BLIND_CODES:
                streak[code] += 1
            else:
                streak.clear()
        self._submitted += submitted
        self._rejected += rejected
        self._latencies.extend(latencies_ms)
        # First: it ends the run, and another cause latched every cycle must not hide it.
        overdue = [
            r.client_order_id
            for r in live_orders
            if r.status is OrderStatus.UNKNOWN
            and now_ms - (r.unknown_since_ms if r.unknown_since_ms is not None else r.updated_ms)
            > self._limits.unknown_max_age_ms
        ]
        if overdue:
            limit_s = self._limits.unknown_max_age_ms / 1000
            detail = f"UNKNOWN for more than {limit_s:g}s: {unknown_orders_text(overdue)}"
            return Escalation("unknown_order_unresolved", detail, ends_run=True)
        for symbol, streak in self._blind_streak.items():
            n = streak.total()
            if n >= self._limits.stale_cycles:
                # One cause for every kind of blindness: the runbook's response (check the feed, the market-data
                # mode, the age limit and the clock) is the same; the detail says which codes made the streak.
                codes = ",".join(f"{c}={k}" for c, k in sorted(streak.items()))
                return Escalation(
                    "stale_market_data", f"{symbol}: {n} consecutive cycles without usable market data ({codes})"
                )
        if self._submitted >= MIN_ORDERS_FOR_RATE:
            rate = Decimal(self._rejected) / Decimal(self._submitted)
            if rate > self._limits.max_reject_rate:
                return Escalation("reject_rate", f"reject rate {rate:.3f} > {self._limits.max_reject_rate}")
        if len(self._latencies) >= MIN_ORDERS_FOR_RATE:
            latency = p95(self._latencies)
            if latency is not None and Decimal(str(latency)) > self._limits.max_latency_p95_ms:
                limit = self._limits.max_latency_p95_ms
                return Escalation("order_latency", f"submit latency p95 {latency:.1f} ms > {limit}")
        return None
