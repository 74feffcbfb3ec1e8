"""A run's metrics, recorded once per cycle from the cycle's own figures, after it has completed.

The actors record nothing while a cycle decides (an SDK instrument costs 6-12 µs a call, and they used to be
called on the way from book to order); the session hands each ``CycleCompleted`` here instead, in the quiet
window before the next cycle. Fills and cancels are the exception: they are counted by the order manager
when reconciliation confirms them, after the cycle's orders have left.
"""

from __future__ import annotations

from collections.abc import Sequence

from btcbot import reason_codes as rc
from btcbot.runtime.cycle import CycleStats, SymbolOutcome
from btcbot.telemetry.metrics import Metrics, get_metrics

_SENT = frozenset({rc.ORDER_SUBMITTED, rc.ORDER_REJECTED, rc.ORDER_UNKNOWN})  # left the process (or may have)


class CycleMetrics:
    """Per-run state behind the metrics (the stale share since the run started)."""

    def __init__(self, symbols: Sequence[str], metrics: Metrics | None = None) -> None:
        self._m = metrics or get_metrics()
        self._cycles = 0
        self._stale: dict[str, int] = {}
        self._symbols: list[str] = []
        self._add_symbols(symbols)

    def _add_symbols(self, symbols: Sequence[str]) -> None:
        # A counter that was never incremented is absent from every export: a dashboard could not tell "no
        # invalid bids" from "not wired". Adding 0 makes each symbol's series exist from the start.
        for symbol in symbols:
            if symbol in self._stale:
                continue
            self._stale[symbol] = 0
            self._symbols.append(symbol)
            attrs = {"symbol": symbol}
            for counter in self._m.symbol_counters():
                counter.add(0, attrs)

    def record(self, outcomes: Sequence[SymbolOutcome], stats: CycleStats, *, duration_ms: float | None) -> None:
        m = self._m
        self._add_symbols([o.symbol for o in outcomes])
        self._cycles += 1
        stale_now: set[str] = set()
        aged: set[str] = set()
        for o in outcomes:
            attrs = {"symbol": o.symbol}
            if o.market_data_age_ms is not None and o.symbol not in aged:
                aged.add(o.symbol)
                m.market_data_age_ms.record(o.market_data_age_ms, attrs)
            if o.reason_code == rc.MARKET_DATA_INVALID_BOOK:
                m.invalid_best_bid_count.add(1, attrs)
            elif o.reason_code == rc.MARKET_DATA_STALE:
                m.stale_market_data_blocks.add(1, attrs)
                stale_now.add(o.symbol)
            elif o.action == "submit" and o.reason_code in _SENT:
                m.orders_submitted.add(1, attrs)
                if o.reason_code == rc.ORDER_REJECTED:
                    m.orders_rejected.add(1, attrs)
                elif o.reason_code == rc.ORDER_UNKNOWN:
                    m.orders_unknown.add(1, attrs)
        for symbol in self._symbols:
            self._stale[symbol] += symbol in stale_now
            m.stale_market_data_rate.set(self._stale[symbol] / self._cycles, {"symbol": symbol})
        for latency in stats.submit_latencies_ms:
            m.order_submit_latency_ms.record(latency, {"mode": "live"})
        for latency in stats.would_submit_latencies_ms:
            m.order_submit_latency_ms.record(latency, {"mode": "observe"})
        if stats.update_to_order_ms is not None:
            m.update_to_order_ms.record(stats.update_to_order_ms, {"mode": "observe" if stats.would_submit else "live"})
        if stats.reconcile_lag_ms is not None:
            m.reconcile_lag_ms.record(stats.reconcile_lag_ms)
        if duration_ms is not None:
            m.cycle_duration_ms.record(duration_ms)
