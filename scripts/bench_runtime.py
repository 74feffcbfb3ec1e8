#!/usr/bin/env python
"""Benchmark the runtime's own cost: per-cycle overhead and book-update-to-order latency.

The venue is the in-process fake (btcbot.testing.runtime_fakes.FakeVenue), so no exchange round-trip is
measured: what remains is the actor hops, the decision logic, telemetry and the state store.

  overhead      RunCycle sent -> CycleCompleted received, observe mode (the whole pipeline, no submit),
                one symbol, back-to-back cycles.
  update->order a fresh book is stamped on arrival (its received_monotonic_ns) and a cycle runs at once;
                measured to the moment the order request is handed to the gateway (the fake venue's
                submit_order: the point where the HTTP client would send it). The venue fills each order
                at once so the canary proposes again every cycle. Includes the write-ahead DB flush.

Each is run with the real StateStore (DuckDB file; cycles 0.1 s apart so each cycle's flush, which follows the
cycle on the state writer's thread, is done before the next) and with a store that only buffers (the runtime
alone, cycles back to back).

    .venv/bin/python scripts/bench_runtime.py [--cycles 1000] [--store-cycles 200] [--telemetry on|off]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from btcbot.arming import ArmingGate
from btcbot.domain.clock import SystemClock
from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, run_session
from btcbot.settings import Settings
from btcbot.storage import StateStore
from btcbot.strategies.canary import CanaryStrategy
from btcbot.testing.runtime_fakes import FakeVenue


class BufferOnlyStore:
    """Same interface as StateStore; keeps nothing. Isolates the runtime from DuckDB's file cost."""

    def __init__(self) -> None:
        self.rows = 0

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        self.rows += len(rows)

    def upsert_order(self, row: dict[str, Any]) -> None:
        self.rows += 1

    def write_ahead(self, row: dict[str, Any]) -> None:
        self.rows += 1

    def flush(self) -> int:
        return 0

    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return []


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def settings_for(tmp: Path, *, live: bool) -> Settings:
    gates: dict[str, Any] = (
        {"live_trading": True, "live_trading_ack": "I_UNDERSTAND", "dry_run": False, "kill_switch": False,
         "safe_mode": False}
        if live
        else {"kill_switch": False}
    )  # fmt: skip
    fake_secret = "bench"  # noqa: S105 - the fake venue checks no signature
    return Settings(
        **gates,
        btcturk_api_key=fake_secret,
        btcturk_api_secret=fake_secret,
        state_db_path=tmp / "bench.db",
        reconcile_min_interval_ms=1000,
        ttl_seconds=3600,
        trace_sink_max_bytes=64 * 1024 * 1024,
    )


def run(tmp: Path, *, cycles: int, live: bool, real_store: bool) -> tuple[list[float], list[float]]:
    settings = settings_for(tmp, live=live)
    venue = FakeVenue(SystemClock())
    update_to_order: list[float] = []
    if live:
        original = venue.submit_order

        def submit(intent: Any, token: Any) -> Any:
            book = venue.last_book
            update_to_order.append((time.monotonic_ns() - book.received_monotonic_ns) / 1e6)
            ack = original(intent, token)
            venue.fill(ack.exchange_order_id)
            return ack

        venue.submit_order = submit  # type: ignore[method-assign]
    snapshot = venue.snapshot

    def stamped(symbol: str) -> Any:
        venue.last_book = snapshot(symbol)  # arrival: stamped now, by the same monotonic clock
        return venue.last_book

    venue.snapshot = stamped  # type: ignore[method-assign]
    store: Any = StateStore(settings.state_db_path) if real_store else BufferOnlyStore()
    if real_store:
        store.migrate()
    deps = RuntimeDeps(
        settings=settings, gate=ArmingGate.from_settings(settings), clock=SystemClock(), market_data=venue,
        reader=venue, gateway=venue, store=store,
        strategy=CanaryStrategy.from_params(notional_try=Decimal(150), offset_bps=settings.canary_offset_bps),
    )  # fmt: skip
    # With the DuckDB store, cycles are spaced as in production (10 s there; 0.1 s here, ample for the ~25 ms
    # flush that follows each cycle on the state writer's thread); back to back they would queue behind it.
    spacing = 0.1 if real_store else 0.0
    result = run_session(RuntimeOptions(max_cycles=cycles, cycle_seconds=spacing, ping_interval_s=3600), deps)
    if real_store:
        store.close()
    warm = min(20, cycles // 10)
    return result.summary.cycle_ms[warm:], update_to_order[warm:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--store-cycles", type=int, default=200, help="cycles for the (slow) DuckDB-store runs")
    ap.add_argument("--telemetry", choices=("on", "off"), default="on")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.telemetry == "on":
            from btcbot.telemetry.setup import configure_telemetry

            configure_telemetry(Settings(state_db_path=tmp / "bench.db"), run_id="bench")
        print(f"cycles={args.cycles} telemetry={args.telemetry} python={sys.version.split()[0]}")
        for real_store in (False, True):
            label = "duckdb-store" if real_store else "buffer-store"
            n = args.store_cycles if real_store else args.cycles
            overhead, _ = run(tmp / f"o-{label}", cycles=n, live=False, real_store=real_store)
            cycle_live, u2o = run(tmp / f"l-{label}", cycles=n, live=True, real_store=real_store)
            print(
                f"[{label}] overhead_per_cycle_ms p50={pct(overhead, 50):.3f} p99={pct(overhead, 99):.3f} "
                f"mean={statistics.fmean(overhead):.3f} (observe, n={len(overhead)})"
            )
            print(
                f"[{label}] update_to_order_ms p50={pct(u2o, 50):.3f} p99={pct(u2o, 99):.3f} "
                f"mean={statistics.fmean(u2o):.3f} (live, n={len(u2o)}); live cycle p50={pct(cycle_live, 50):.3f} "
                f"p99={pct(cycle_live, 99):.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
