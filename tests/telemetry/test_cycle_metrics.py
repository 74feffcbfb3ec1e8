"""A run's metrics come from each completed cycle's own figures: counters at 0 per symbol from the start, the
stale share, the observe-mode submit latency."""

from __future__ import annotations

from typing import Any

from btcbot import reason_codes as rc
from btcbot.runtime.cycle import CycleStats, SymbolOutcome
from btcbot.runtime.cycle_metrics import CycleMetrics
from btcbot.telemetry.setup import TelemetryHandle

SYMBOLS = ("BTCTRY", "ETHTRY")


def _by_symbol(points: list[Any]) -> dict[str | None, float]:
    return {p.attributes.get("symbol"): p.value for p in points}


def test_counters_exist_at_zero_for_every_symbol_before_any_cycle(telemetry: TelemetryHandle, points: Any) -> None:
    CycleMetrics(SYMBOLS)
    got = points(telemetry)
    for name in (
        "invalid_best_bid_count",
        "stale_market_data_blocks",
        "orders_submitted",
        "orders_rejected",
        "orders_filled",
        "orders_cancelled",
        "orders_unknown",
    ):
        assert _by_symbol(got[name]) == {"BTCTRY": 0, "ETHTRY": 0}, name


def test_one_cycle_at_a_time(telemetry: TelemetryHandle, points: Any) -> None:
    metrics = CycleMetrics(SYMBOLS)
    metrics.record(
        [
            SymbolOutcome("BTCTRY", "block", rc.MARKET_DATA_STALE, market_data_age_ms=4000.0),
            SymbolOutcome("ETHTRY", "would_submit", rc.DRY_RUN_WOULD_SUBMIT, market_data_age_ms=12.0),
        ],
        CycleStats(would_submit=1, would_submit_latencies_ms=(0.8,), reconcile_lag_ms=30.0, update_to_order_ms=1.25),
        duration_ms=1.5,
    )
    metrics.record(
        [
            SymbolOutcome("BTCTRY", "block", rc.MARKET_DATA_INVALID_BOOK),
            SymbolOutcome("ETHTRY", "submit", rc.ORDER_REJECTED),
            SymbolOutcome("ETHTRY", "submit", rc.ORDER_UNKNOWN),
            SymbolOutcome("ETHTRY", "submit", rc.ORDER_SUBMITTED),
        ],
        CycleStats(submitted=3, rejected=1, unknown=1, submit_latencies_ms=(40.0,), update_to_order_ms=0.75),
        duration_ms=2.5,
    )
    got = points(telemetry)
    assert _by_symbol(got["stale_market_data_blocks"]) == {"BTCTRY": 1, "ETHTRY": 0}
    assert _by_symbol(got["invalid_best_bid_count"]) == {"BTCTRY": 1, "ETHTRY": 0}
    assert _by_symbol(got["orders_submitted"]) == {"BTCTRY": 0, "ETHTRY": 3}
    assert _by_symbol(got["orders_rejected"]) == {"BTCTRY": 0, "ETHTRY": 1}
    assert _by_symbol(got["orders_unknown"]) == {"BTCTRY": 0, "ETHTRY": 1}
    # One of BTCTRY's two cycles was blocked by stale data; none of ETHTRY's.
    assert _by_symbol(got["stale_market_data_rate"]) == {"BTCTRY": 0.5, "ETHTRY": 0.0}
    latency = {p.attributes["mode"]: (p.count, p.sum) for p in got["order_submit_latency_ms"]}
    assert latency == {"observe": (1, 0.8), "live": (1, 40.0)}
    update_to_order = {p.attributes["mode"]: (p.count, p.sum) for p in got["update_to_order_ms"]}
    assert update_to_order == {"observe": (1, 1.25), "live": (1, 0.75)}
    assert [(p.count, p.sum) for p in got["cycle_duration_ms"]] == [(2, 4.0)]
    assert [(p.count, p.sum) for p in got["reconcile_lag_ms"]] == [(1, 30.0)]
    ages = {p.attributes["symbol"]: p.sum for p in got["market_data_age_ms"]}
    assert ages == {"BTCTRY": 4000.0, "ETHTRY": 12.0}
