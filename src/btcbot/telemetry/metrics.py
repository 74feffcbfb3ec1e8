"""Metric instruments, by the runbook's names. opentelemetry-api only: no-op until the SDK is set up.

Names are exactly the runbook's, also in Prometheus: the instruments carry no OpenTelemetry unit (a
Prometheus exporter would append ``_milliseconds`` to a name that already ends in ``_ms``); each
description states its unit instead.

The per-cycle figures are recorded once per cycle, after it completed, by
``btcbot.runtime.cycle_metrics`` — never from inside a cycle's steps.
"""

from __future__ import annotations

from functools import lru_cache

from opentelemetry import metrics

METER_NAME = "btcbot"


class Metrics:
    """Every instrument btcbot records. Names are part of the operator interface: never rename one."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.order_submit_latency_ms = meter.create_histogram(
            "order_submit_latency_ms",
            description="Milliseconds. mode=live: submit request to venue acknowledgement; "
            "mode=observe: cycle start to the would-submit record",
        )
        self.reconcile_lag_ms = meter.create_histogram(
            "reconcile_lag_ms", description="Milliseconds: age of the exchange view the reconciler acted on"
        )
        self.market_data_age_ms = meter.create_histogram(
            "market_data_age_ms", description="Milliseconds: age of the book a cycle decided on"
        )
        self.update_to_order_ms = meter.create_histogram(
            "update_to_order_ms",
            description="Milliseconds: the book's local receipt to the cycle's first order request leaving (mode=live) "
            "or its would-submit record (mode=observe)",
        )
        self.cycle_duration_ms = meter.create_histogram(
            "cycle_duration_ms", description="Milliseconds: one decision cycle, RunCycle sent to CycleCompleted"
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
        # Legacy name that dashboards still use; stale_market_data_blocks is the counter behind it.
        self.stale_market_data_rate = meter.create_gauge(
            "stale_market_data_rate",
            description="Share (0-1) of this run's cycles in which the symbol was blocked by market_data:stale",
        )

    def symbol_counters(self) -> tuple[metrics.Counter, ...]:
        """The counters labelled by symbol: exported at 0 for every symbol from the start of a run."""
        return (
            self.invalid_best_bid_count,
            self.stale_market_data_blocks,
            self.orders_submitted,
            self.orders_rejected,
            self.orders_filled,
            self.orders_cancelled,
            self.orders_unknown,
        )


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    """Process-wide instruments; call after telemetry setup so they bind to the configured provider."""
    return Metrics(metrics.get_meter(METER_NAME))
