"""The end-of-run summary: counters, latencies and anomalies, and the exit code they imply."""

from __future__ import annotations

from dataclasses import dataclass, field

from btcbot.runtime.cycle import CycleStats
from btcbot.runtime.supervision import p95


@dataclass
class RunSummary:
    run_id: str
    mode: str
    cycles: int = 0
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
    anomalies: list[str] = field(default_factory=list)
    safe_mode_cause: str | None = None

    def add(self, stats: CycleStats) -> None:
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

    def anomaly(self, text: str) -> None:
        if text not in self.anomalies:
            self.anomalies.append(text)

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
        return [
            f"run_id={self.run_id} mode={self.mode} cycles={self.cycles}",
            f"orders placed={self.placed} acknowledged={self.acknowledged} filled={self.filled} "
            f"cancelled={self.cancelled} rejected={self.rejected} unknown={self.unknown} "
            f"unknown_resolved={self.unknown_resolved} would_submit={self.would_submit} orphans={self.orphans} "
            f"open_at_end={self.open_at_end}",
            lat_txt,
            lag_txt,
            f"decisions {reasons}",
            f"safe_mode={'latched:' + self.safe_mode_cause if self.safe_mode_cause else 'off'}",
            "anomalies=" + ("; ".join(self.anomalies) if self.anomalies else "none"),
        ]
