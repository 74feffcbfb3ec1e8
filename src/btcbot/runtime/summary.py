"""The end-of-run summary: counters, latencies and anomalies, and the exit code they imply.

One exit-code table for ``run``, ``canary`` and replay: 0 clean, 1 anomaly, 2 configuration/usage/refused (raised
before a session starts, or a start that refused to arm: ``btcbot.runtime.foreign_orders``), 130 interrupted by a
signal. An interrupted run still lists every anomaly it has.

The summary is printed as ``key=value`` lines; each anomaly also gets a line of its own,
``anomaly: <kind> key=value ...``, whose ``kind`` is stable (scripts key on it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderStatus
from btcbot.runtime.cycle import CycleStats, SymbolOutcome
from btcbot.runtime.freshness import BLIND_CODES
from btcbot.runtime.kill_switch import KILL_SWITCH_DETAIL
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.supervision import UNKNOWN_NEXT_ACTION, p95

EXIT_OK = 0
EXIT_ANOMALY = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130

# Failed reconciles in a row before the run is an anomaly. One failure is a blip the reconciler retries next cycle;
# three mean the account has gone unobserved for several cycles (fills, cancels and UNKNOWN outcomes unconfirmed),
# the same "persistent, not a blip" threshold as the SAFE_MODE_STALE_CYCLES default and the stale-streak alert.
RECONCILE_FAILURE_STREAK = 3

# What the operator does about an order of this bot left at the venue.
OPEN_ORDER_NEXT = "btcbot orders list; btcbot orders cancel-all --confirm"


def kv(**fields: object) -> str:
    """``key=value`` pairs; a value with spaces is quoted so the line still splits on whitespace."""
    parts = []
    for key, value in fields.items():
        text = str(value)
        parts.append(f'{key}="{text}"' if (" " in text or not text) else f"{key}={text}")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str  # stable, snake_case
    detail: str = ""

    def line(self) -> str:
        return f"anomaly: {self.kind} {self.detail}".rstrip()


@dataclass(frozen=True, slots=True)
class Interruption:
    """Stop requests received (signal names) and what the stop's clean-up did."""

    signals: tuple[str, ...]
    cleanup: str  # cancelled:<k> | nothing_open | skipped:<why>


@dataclass(frozen=True, slots=True)
class RunEnd:
    """What is known once the run is over and its actors have stopped."""

    live_orders: tuple[OrderRecord, ...]  # this bot's unfinished orders, as last known
    venue_429s: int = 0  # HTTP 429 answers from the venue during the run
    safe_mode_cause: str | None = None
    interruption: Interruption | None = None
    canary_not_placed: bool = False  # an armed `canary once` that placed nothing
    stuck_actors: tuple[str, ...] = ()
    refused: bool = False  # the start refused to arm (orders of this scope that this DB never placed)


def _ids(records: Iterable[OrderRecord]) -> str:
    return ",".join(sorted(r.client_order_id for r in records))


@dataclass
class RunSummary:
    run_id: str
    mode: str
    cycles: int = 0
    usable_market_data_cycles: int = 0  # cycles in which at least one symbol had a fresh, valid book
    placed: int = 0
    acknowledged: int = 0
    filled: int = 0
    cancelled: int = 0
    rejected: int = 0
    unknown: int = 0
    unknown_resolved: int = 0
    would_submit: int = 0
    orphans: int = 0
    open_at_end: int = 0
    unknown_at_end: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    reconcile_lag_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)  # RunCycle sent -> CycleCompleted received
    reason_counts: dict[str, int] = field(default_factory=dict)
    kill_switch_counts: dict[str, int] = field(default_factory=dict)  # the kill switch's work, per symbol-cycle
    reconcile_failure_streak: int = 0
    reconcile_failure_streak_max: int = 0
    anomalies: list[Anomaly] = field(default_factory=list)
    safe_mode_cause: str | None = None
    # SAFE_MODE=true: shown as the live line shows it (on), so the run's last line does not say off beside it.
    safe_mode_setting: bool = False

    @property
    def safe_mode_text(self) -> str:
        """off | on (SAFE_MODE=true) | latched:<cause>, the same words as the per-cycle line."""
        if self.safe_mode_cause:
            return f"latched:{self.safe_mode_cause}"
        return "on" if self.safe_mode_setting else "off"

    def add(self, stats: CycleStats) -> None:
        """A cycle's (or start-up's, or stop's) counters."""
        self.placed += stats.submitted
        self.acknowledged += stats.acknowledged
        self.filled += stats.filled
        self.cancelled += stats.cancelled
        self.rejected += stats.rejected
        self.unknown += stats.unknown
        self.unknown_resolved += stats.unknown_resolved
        self.would_submit += stats.would_submit
        self.orphans += stats.orphans
        self.latencies_ms.extend(stats.submit_latencies_ms)
        if stats.reconcile_lag_ms is not None:
            self.reconcile_lag_ms.append(stats.reconcile_lag_ms)
        # A throttled step (no reconcile this time) neither extends nor breaks the streak.
        if rc.RECONCILE_FAILED in stats.alerts:
            self.reconcile_failure_streak += 1
            self.reconcile_failure_streak_max = max(self.reconcile_failure_streak_max, self.reconcile_failure_streak)
        elif stats.reconcile_lag_ms is not None:
            self.reconcile_failure_streak = 0

    def record_cycle(self, outcomes: Sequence[SymbolOutcome]) -> None:
        """A decision cycle's records (or an aborted cycle's): counts by reason, kill-switch work, usable data."""
        for o in outcomes:
            self.reason_counts[o.reason_code] = self.reason_counts.get(o.reason_code, 0) + 1
            work = dict(o.details).get(KILL_SWITCH_DETAIL)
            if work is not None:
                self.kill_switch_counts[work] = self.kill_switch_counts.get(work, 0) + 1
        if any(o.reason_code not in BLIND_CODES and o.reason_code != rc.SUPERVISOR_CYCLE_ABORTED for o in outcomes):
            self.usable_market_data_cycles += 1

    def anomaly(self, kind: str, detail: str = "") -> None:
        item = Anomaly(kind, detail)
        if item not in self.anomalies:
            self.anomalies.append(item)

    def conclude(self, end: RunEnd) -> int:
        """Add what the end state says is wrong and return the exit code."""
        self.safe_mode_cause = end.safe_mode_cause
        open_orders = [r for r in end.live_orders if r.status.is_open]
        # An INTENT at the end is a submit whose answer never came (the run stopped at once while it was awaited).
        unknown = [r for r in end.live_orders if r.status in (OrderStatus.UNKNOWN, OrderStatus.INTENT)]
        self.open_at_end = len(open_orders)
        self.unknown_at_end = len(unknown)
        if end.interruption is not None:
            i = end.interruption
            self.anomaly("interrupted", kv(signal=",".join(i.signals), cleanup=i.cleanup, left_open=len(open_orders)))
        if open_orders:
            self.anomaly("open_at_end", f"ids={_ids(open_orders)} next: {OPEN_ORDER_NEXT}")
        if unknown:
            self.anomaly("unknown_at_end", f"ids={_ids(unknown)} next: {UNKNOWN_NEXT_ACTION}")
        failed = self.kill_switch_counts.get(rc.KILL_SWITCH_CANCEL_FAILED, 0)
        if failed:
            self.anomaly("kill_switch_cancel_failed", kv(count=failed))
        if end.venue_429s:
            self.anomaly("venue_rate_limited", kv(http_429=end.venue_429s))
        if self.reconcile_failure_streak_max >= RECONCILE_FAILURE_STREAK:
            self.anomaly("reconcile_failing", kv(consecutive=self.reconcile_failure_streak_max))
        if self.cycles and not self.usable_market_data_cycles:
            blind = ",".join(f"{c}={self.reason_counts[c]}" for c in sorted(BLIND_CODES) if c in self.reason_counts)
            self.anomaly("no_usable_market_data", kv(cycles=self.cycles, reasons=blind or "none"))
        if self.rejected:
            self.anomaly("orders_rejected", kv(count=self.rejected))
        if self.unknown:
            self.anomaly("orders_unknown", kv(count=self.unknown, resolved=self.unknown_resolved))
        if self.orphans:
            self.anomaly("orphans_adopted", kv(count=self.orphans))
        if end.safe_mode_cause:
            self.anomaly("safe_mode_latched", kv(cause=end.safe_mode_cause))
        if end.canary_not_placed:
            self.anomaly("canary_not_placed", kv(reasons=",".join(sorted(self.reason_counts)) or "no_cycle_completed"))
        if end.stuck_actors:
            self.anomaly("actors_not_stopped", kv(actors=",".join(end.stuck_actors)))
        if end.interruption is not None:
            return EXIT_INTERRUPTED
        if end.refused:
            return EXIT_REFUSED
        return EXIT_ANOMALY if self.anomalies else EXIT_OK

    def lines(self) -> list[str]:
        lat = sorted(self.latencies_ms)
        lat_txt = (
            f"submit_latency_ms p50={lat[len(lat) // 2]:.1f} p95={p95(lat) or 0:.1f} max={lat[-1]:.1f}"
            if lat
            else "submit_latency_ms none"
        )
        lag = sorted(self.reconcile_lag_ms)
        lag_txt = f"reconcile_lag_ms p50={lag[len(lag) // 2]:.1f} max={lag[-1]:.1f}" if lag else "reconcile_lag_ms none"
        reasons = " ".join(f"{k}={v}" for k, v in sorted(self.reason_counts.items())) or "none"
        kill = " ".join(f"{k.split(':', 1)[-1]}={v}" for k, v in sorted(self.kill_switch_counts.items())) or "none"
        return [
            f"run_id={self.run_id} mode={self.mode} cycles={self.cycles} "
            f"usable_market_data_cycles={self.usable_market_data_cycles}",
            f"orders placed={self.placed} acknowledged={self.acknowledged} filled={self.filled} "
            f"cancelled={self.cancelled} rejected={self.rejected} unknown={self.unknown} "
            f"unknown_resolved={self.unknown_resolved} would_submit={self.would_submit} orphans={self.orphans} "
            f"open_at_end={self.open_at_end}",
            lat_txt,
            lag_txt,
            f"decisions {reasons}",
            f"kill_switch {kill}",
            f"safe_mode={self.safe_mode_text}",
            "anomalies=" + (",".join(a.kind for a in self.anomalies) if self.anomalies else "none"),
            *(a.line() for a in self.anomalies),
        ]
