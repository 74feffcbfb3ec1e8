"""Metric instruments, by the runbook's names. opentelemetry-api only: no-op until the SDK is set up."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

METER_NAME = "btcbot"


@dataclass
class _StaleRate:
    """Ratio of stale-blocked symbol-cycles to all symbol-cycles since start (deprecated gauge)."""

    stale: int = 0
    total: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, stale: bool) -> None:
        with self.lock:
            self.total += 1
            self.stale += int(stale)

    def value(self) -> float:
        with self.lock:
            return self.stale / self.total if self.total else 0.0


class Metrics:
    """Every instrument btcbot records. Names are part of the operator interface: never rename one."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.order_submit_latency_ms = meter.create_histogram(
            "order_submit_latency_ms", unit="ms", description="Submit request to venue acknowledgement"
        )
        self.reconcile_lag_ms = meter.create_histogram(
            "reconcile_lag_ms", unit="ms", description="Age of the exchange view the reconciler acted on"
        )
        self.market_data_age_ms = meter.create_histogram(
            "market_data_age_ms", unit="ms", description="Age of the book a cycle decided on"
        )
        self.cycle_duration_ms = meter.create_histogram(
            "cycle_duration_ms", unit="ms", description="Wall time of one decision cycle"
        )
        self.invalid_best_bid_count = meter.create_counter(
            "invalid_best_bid_count", description="Books with a best bid that is zero, missing or crossed"
        )
        self.stale_market_data_blocks = meter.create_counter(
            "stale_market_data_blocks", description="Symbol-cycles blocked by market_data:stale"
        )
        self.orders_submitted = meter.create_counter("orders_submitted", description="Orders sent")
        self.orders_rejected = meter.create_counter("orders_rejected", description="Orders refused by venue")
        self.orders_filled = meter.create_counter("orders_filled", description="Orders fully filled")
        self.orders_cancelled = meter.create_counter("orders_cancelled", description="Cancels confirmed")
        self.orders_unknown = meter.create_counter("orders_unknown", description="Submits of unknown outcome")
        self.safe_mode_escalations = meter.create_counter(
            "safe_mode_escalations", description="Supervisor safe-mode latches"
        )
        self._stale_rate = _StaleRate()
        # Deprecated: kept for dashboards built before stale_market_data_blocks existed.
        meter.create_observable_gauge(
            "stale_market_data_rate",
            callbacks=[self._observe_stale_rate],
            description="DEPRECATED: use stale_market_data_blocks / cycles",
        )

    def observe_freshness(self, *, stale: bool) -> None:
        self._stale_rate.observe(stale)

    def _observe_stale_rate(self, _options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self._stale_rate.value())


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    """Process-wide instruments; call after telemetry setup so they bind to the configured provider."""
    return Metrics(metrics.get_meter(METER_NAME))
