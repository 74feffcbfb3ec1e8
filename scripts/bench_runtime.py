#!/usr/bin/env python
"""Benchmark the runtime's own cost, with telemetry off/on x buffer/DuckDB store, in one run, as ratios.

The venue is the in-process fake (btcbot.testing.runtime_fakes.FakeVenue), so no exchange round trip is
measured: what remains is the actor hops, the decision logic, telemetry and the state store.

  overhead      RunCycle sent -> CycleCompleted received, observe mode, one symbol. The quiet window after each
                cycle (store flush, span export) is not part of it: the next cycle starts once that window is
                over, exactly as in a run. Cycles start --spacing apart (20 ms), so that, as in production
                (seconds apart), every cycle starts on actor threads that have gone idle: back to back, a
                thread that has just run wakes faster, which flatters whichever configuration has no flush.
  update->order a fresh book is stamped on arrival (its received_monotonic_ns) and a cycle runs at once;
                measured to the moment the order request is handed to the gateway (the fake venue's
                submit_order: where the HTTP client would send it). Live mode; the venue fills each order at once
                so the canary proposes again every cycle. Includes the write-ahead of the INTENT row.
  floor         five plain Pykka hops (the book-to-order path's actor count) forwarding that path's own message
                objects, no work in between: what the actor model costs by itself.

Configurations: telemetry off (OTEL_SDK_DISABLED) or on (SDK tracing with the local JSON-lines trace sink, and
metrics through the Prometheus reader on an OS-chosen port), each with a store that only buffers (the runtime
alone) or the real StateStore (a DuckDB file). Rounds interleave the configurations, rotating their order, so
drift in the machine's load hits each alike; the targets are ratios within this one run (issue 15):

  update->order p99 (telemetry on, DuckDB) <= 1.5 x update->order p99 (telemetry off, buffer store)
  overhead p99      (telemetry on, DuckDB) <= 1.5 x overhead p99      (telemetry off, buffer store)

    .venv/bin/python scripts/bench_runtime.py [--cycles 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pykka

from btcbot.actors import _base
from btcbot.arming import ArmingGate
from btcbot.domain.clock import SystemClock
from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, run_session
from btcbot.settings import Settings
from btcbot.storage import StateStore
from btcbot.strategies.canary import CanaryStrategy
from btcbot.telemetry.setup import TelemetryHandle, configure_telemetry
from btcbot.testing.runtime_fakes import FakeVenue

CONFIGS = (("off", "buffer"), ("on", "buffer"), ("off", "duckdb"), ("on", "duckdb"))
WARMUP = 20
TARGET = 1.5


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


def settings_for(tmp: Path, *, live: bool, telemetry: str) -> Settings:
    gates: dict[str, Any] = (
        {"live_trading": True, "live_trading_ack": "I_UNDERSTAND", "dry_run": False, "kill_switch": False,
         "safe_mode": False}
        if live
        else {"kill_switch": False}
    )  # fmt: skip
    return Settings(
        **gates,
        btcturk_api_key="bench",
        btcturk_api_secret="YmVuY2g=",  # noqa: S106 - base64 "bench": the fake venue checks no signature
        state_db_path=tmp / "bench.db",
        reconcile_min_interval_ms=1000,
        ttl_seconds=3600,
        otel_sdk_disabled=telemetry == "off",
        trace_sink_enabled=True,
        trace_sink_max_bytes=64 * 1024 * 1024,
        metrics_port=0 if telemetry == "on" else None,
    )


class MessageTap:
    """Keeps the first message of each type sent between actors (the floor replays them)."""

    def __init__(self) -> None:
        self.first: dict[str, object] = {}
        self._tell = _base.Routes.tell

    def __enter__(self) -> MessageTap:
        tap = self

        def tell(routes: _base.Routes, name: str, message: object) -> None:
            tap.first.setdefault(type(message).__name__, message)
            tap._tell(routes, name, message)

        _base.Routes.tell = tell  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        _base.Routes.tell = self._tell  # type: ignore[method-assign]


def run(
    tmp: Path, *, cycles: int, live: bool, real_store: bool, telemetry: str, spacing: float
) -> tuple[list[float], list[float]]:
    settings = settings_for(tmp, live=live, telemetry=telemetry)
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
    result = run_session(RuntimeOptions(max_cycles=cycles, cycle_seconds=spacing, ping_interval_s=3600), deps)
    if real_store:
        store.close()
    return result.summary.cycle_ms[WARMUP:], update_to_order[WARMUP:]


def floor(messages: list[object], count: int) -> list[float]:
    """Five plain Pykka hops, each forwarding the next message of the book-to-order path; send -> 5th handler."""
    arrived: queue.Queue[int] = queue.Queue()

    class Hop(pykka.ThreadingActor):
        def __init__(self, index: int, next_hop: pykka.ActorRef[Any] | None) -> None:
            super().__init__()
            self.index = index
            self.next_hop = next_hop

        def on_receive(self, message: Any) -> None:
            if self.next_hop is None:
                arrived.put(time.perf_counter_ns())
            else:
                self.next_hop.tell(messages[self.index + 1])

    refs: list[pykka.ActorRef[Any]] = []
    next_hop: pykka.ActorRef[Any] | None = None
    for index in reversed(range(len(messages))):
        next_hop = Hop.start(index, next_hop)
        refs.append(next_hop)
    first = refs[-1]
    out: list[float] = []
    try:
        for _ in range(count + WARMUP):
            sent = time.perf_counter_ns()
            first.tell(messages[0])
            out.append((arrived.get(timeout=10) - sent) / 1e6)
    finally:
        for ref in refs:
            ref.stop()
    return out[WARMUP:]


@dataclass
class Figures:
    overhead: list[float] = field(default_factory=list)
    update_to_order: list[float] = field(default_factory=list)


def configure(telemetry: str, state_dir: Path) -> TelemetryHandle:
    return configure_telemetry(settings_for(state_dir, live=False, telemetry=telemetry), run_id=f"bench-{telemetry}")


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--cycles", type=int, default=400, help="cycles per configuration, mode and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--spacing", type=float, default=0.02, help="seconds from one cycle's start to the next (CYCLE_SECONDS)"
    )
    args = ap.parse_args()
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    figures = {config: Figures() for config in CONFIGS}
    floor_ms: list[float] = []
    path: dict[str, object] = {}  # the first message of each type, from a live run
    path_messages = ("RunCycle", "BooksFetched", "BooksChecked", "IntentsProposed", "RiskAssessed")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for round_no in range(args.rounds):
            order = CONFIGS[round_no % len(CONFIGS) :] + CONFIGS[: round_no % len(CONFIGS)]
            for telemetry, store in order:
                state_dir = tmp / f"r{round_no}-{telemetry}-{store}"
                handle = configure(telemetry, state_dir)
                real = store == "duckdb"
                common = {"cycles": args.cycles, "real_store": real, "telemetry": telemetry, "spacing": args.spacing}
                overhead, _ = run(state_dir / "o", live=False, **common)
                with MessageTap() as tap:
                    _, u2o = run(state_dir / "l", live=True, **common)
                path = path or tap.first
                f = figures[(telemetry, store)]
                f.overhead += overhead
                f.update_to_order += u2o
                handle.shutdown()
            floor_ms += floor([path[name] for name in path_messages], args.cycles)
    load_after = os.getloadavg()
    print(
        f"bench_runtime {started:%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"{args.rounds} rounds x {args.cycles} cycles per configuration and mode (first {WARMUP} dropped each), "
        f"load average {load_before[0]:.1f} before / {load_after[0]:.1f} after"
    )
    print()
    print("| telemetry | store | overhead per cycle p50 / p99 (ms) | update -> order p50 / p99 (ms) |")
    print("|---|---|---|---|")
    for telemetry, store in CONFIGS:
        f = figures[(telemetry, store)]
        print(
            f"| {telemetry} | {store} | {pct(f.overhead, 50):.3f} / {pct(f.overhead, 99):.3f} "
            f"| {pct(f.update_to_order, 50):.3f} / {pct(f.update_to_order, 99):.3f} |"
        )
    print(f"| floor: 5 Pykka hops | - | - | {pct(floor_ms, 50):.3f} / {pct(floor_ms, 99):.3f} |")
    print()
    base, full = figures[("off", "buffer")], figures[("on", "duckdb")]
    ratios: list[tuple[str, Callable[[Figures], list[float]]]] = [
        ("update_to_order", lambda f: f.update_to_order),
        ("overhead", lambda f: f.overhead),
    ]
    for name, pick in ratios:
        ratio = pct(pick(full), 99) / pct(pick(base), 99)
        print(
            f"ratio {name} p99 (telemetry on + DuckDB) / (telemetry off + buffer) = {ratio:.2f} "
            f"(target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
