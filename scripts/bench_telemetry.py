#!/usr/bin/env python
"""Cycle overhead of telemetry: tracing + metrics ON (SDK, batch processor, local sink) versus OFF (API no-op).

    .venv/bin/python scripts/bench_telemetry.py                  # auto: real runtime if present, else actor chain
    .venv/bin/python scripts/bench_telemetry.py --harness actors --cycles 400 --rounds 5

Each measurement runs in a fresh subprocess (the OpenTelemetry globals are per process), ON and OFF
interleaved round by round so drift on a shared machine hits both alike. Reported: median per-cycle wall
time of each mode (median over rounds of each round's median), and the ratio ON/OFF (target <= 1.10).

Harnesses
* ``runtime``: real decision cycles through ``btcbot.runtime.session.run_session`` against the simulator
  (``btcbot.sim.Simulator``, three symbols, market ticking every 250 ms) in observe mode, with WebSocket market
  data (books come from the local cache, no REST round trip per cycle) and reconciliation throttled to once a
  minute, so the measured cycles hold no exchange round trips: actor hops, freshness, strategy, risk gate,
  decision records and the per-cycle DuckDB flush.
* ``actors``: the cycle's shape without its work: a Pykka actor per step along the runtime's cycle path (feed,
  freshness_guard, strategy, risk_gate, order_manager, reconciler, order_manager, state_writer), each hop
  carrying the trace carrier and opening its step span, with the runtime's metric records. The pessimistic
  case: the denominator holds only actor hops, no exchange I/O, no DB flush.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CYCLE_PATH = (
    "feed",
    "freshness_guard",
    "strategy",
    "risk_gate",
    "order_manager",
    "reconciler",
    "order_manager",
    "state_writer",
)
# Span name each hop opens (order_manager appears twice on the path: submit, then its post-reconcile pass).
SPAN_OF_HOP = ("feed", "freshness_guard", "strategy", "risk_gate", "order_submit", "reconcile", "db_flush", "db_flush")


def _telemetry_on(state_dir: Path) -> Any:
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from btcbot.settings import Settings
    from btcbot.telemetry.setup import configure_telemetry

    settings = Settings(state_db_path=state_dir / "state.db", trace_sink_enabled=True)
    # A metric reader makes every instrument a real SDK instrument (no collector needed to pay their cost).
    return configure_telemetry(settings, run_id="bench", extra_metric_readers=[InMemoryMetricReader()])


def _actors_harness(cycles: int, warmup: int) -> list[float]:
    import pykka

    from btcbot.telemetry import tracing
    from btcbot.telemetry.metrics import get_metrics

    metrics = get_metrics()
    done = threading.Event()

    class Step(pykka.ThreadingActor):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index
            self.next: Any = None

        def on_receive(self, message: Any) -> None:
            span_name = SPAN_OF_HOP[self.index]
            with tracing.start_span(span_name, carrier=message["trace"], attributes={"btcbot.actor": span_name}):
                if span_name == "feed":
                    metrics.market_data_age_ms.record(42.0)
                elif span_name == "freshness_guard":
                    metrics.observe_freshness(stale=False)
                elif span_name == "order_submit":
                    metrics.order_submit_latency_ms.record(1.0)
                    metrics.orders_submitted.add(1)
                elif span_name == "reconcile":
                    metrics.reconcile_lag_ms.record(5.0)
                carrier = tracing.inject()
            if self.next is None:
                done.set()
            else:
                self.next.tell({"trace": carrier})

    refs = [Step.start(i) for i in range(len(CYCLE_PATH))]
    for a, b in itertools.pairwise(refs):
        a.proxy().next = b  # type: ignore[attr-defined]
    for ref in refs:
        ref.proxy().next.get()  # type: ignore[attr-defined]  # wait until every actor has its successor
    samples: list[float] = []
    try:
        for i in range(warmup + cycles):
            done.clear()
            t0 = time.perf_counter_ns()
            with tracing.start_span(
                "cycle",
                root=True,
                attributes={"btcbot.run_id": "bench", "btcbot.cycle_id": i, "btcbot.mode": "dry_run"},
            ) as root:
                refs[0].tell({"trace": tracing.inject()})
                done.wait()
                root.set_attribute("btcbot.reason_code", "ok")
            elapsed = time.perf_counter_ns() - t0
            metrics.cycle_duration_ms.record(elapsed / 1e6)
            if i >= warmup:
                samples.append(elapsed / 1e3)
    finally:
        pykka.ActorRegistry.stop_all()
    return samples


def _runtime_available() -> bool:
    try:
        import btcbot.runtime.session  # noqa: F401
        from btcbot.sim import Simulator  # noqa: F401
    except ImportError:
        return False
    return True


def _runtime_harness(cycles: int, warmup: int, state_dir: Path) -> list[float]:
    """Real cycles through run_session: observe mode, WebSocket market data from the simulator (no REST round
    trip per cycle), reconciliation throttled to once a minute (no exchange reads inside the measured cycles).
    The measured span is ``_Session.one_cycle``: from the root span's start to the cycle's completion.
    """
    from btcbot.arming import ArmingGate
    from btcbot.domain.clock import SystemClock
    from btcbot.exchange.btcturk import BtcturkExchange, build_market_data
    from btcbot.runtime import session as session_mod
    from btcbot.settings import Settings
    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator
    from btcbot.storage import StateStore
    from btcbot.strategies.canary import CanaryStrategy

    samples: list[float] = []
    seen = [0]
    original = session_mod._Session.one_cycle

    def timed(self: Any, cycle_id: int) -> None:
        t0 = time.perf_counter_ns()
        original(self, cycle_id)
        seen[0] += 1
        if seen[0] > warmup:
            samples.append((time.perf_counter_ns() - t0) / 1e3)

    session_mod._Session.one_cycle = timed  # type: ignore[method-assign]
    symbols = ("BTCTRY", "ETHTRY", "ETHBTC")
    with Simulator(seed=1, symbols=symbols, market_tick_ms=250) as sim:
        settings = Settings(
            state_db_path=state_dir / "state.db",
            btcturk_base_url=sim.rest_url,
            btcturk_ws_url=sim.ws_url,
            btcturk_api_key=DEMO_API_KEY,
            btcturk_api_secret=DEMO_API_SECRET,
            universe_symbols=",".join(symbols),
            market_data_mode="ws",
            btcturk_ws_enabled=True,
            reconcile_min_interval_ms=60_000,
        )
        exchange = BtcturkExchange.from_settings(settings)
        market_data = build_market_data(settings, exchange.http)
        store = StateStore(settings.state_db_path)
        store.migrate()
        market_data.start()
        deadline = time.monotonic() + 10
        while any(market_data.snapshot(s) is None for s in symbols) and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            deps = session_mod.RuntimeDeps(
                settings=settings,
                gate=ArmingGate.from_settings(settings),
                clock=SystemClock(),
                market_data=market_data,
                reader=exchange,
                gateway=exchange,
                store=store,
                strategy=CanaryStrategy.from_params(
                    notional_try=settings.max_notional_per_order_try, offset_bps=settings.canary_offset_bps
                ),
                manage_market_data=False,
            )
            options = session_mod.RuntimeOptions(max_cycles=warmup + cycles, cycle_seconds=0.001)
            result = session_mod.run_session(options, deps)
            if result.exit_code != 0:
                raise SystemExit(f"runtime run failed: exit {result.exit_code}")
        finally:
            market_data.stop()
            store.close()
            exchange.close()
    return samples


def worker(mode: str, harness: str, cycles: int, warmup: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="btcbot-bench-") as tmp:
        state_dir = Path(tmp)
        handle = _telemetry_on(state_dir) if mode == "on" else None
        try:
            if harness == "runtime":
                samples = _runtime_harness(cycles, warmup, state_dir)
            else:
                samples = _actors_harness(cycles, warmup)
        finally:
            if handle is not None:
                handle.shutdown()
        spans_on_disk = 0
        sink = state_dir / "traces" / "spans.jsonl"
        if sink.exists():
            spans_on_disk = sink.read_text().count('"spanId"')
    samples.sort()
    return {
        "mode": mode,
        "harness": harness,
        "cycles": len(samples),
        "p50_us": statistics.median(samples),
        "p90_us": samples[int(len(samples) * 0.9) - 1],
        "mean_us": statistics.fmean(samples),
        "spans_in_sink": spans_on_disk,
    }


def _run_worker(mode: str, harness: str, cycles: int, warmup: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            mode,
            "--harness",
            harness,
            "--cycles",
            str(cycles),
            "--warmup",
            str(warmup),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--harness", choices=("auto", "runtime", "actors"), default="auto")
    parser.add_argument("--cycles", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    harness = args.harness
    if harness == "auto":
        harness = "runtime" if _runtime_available() else "actors"
    if args.worker:
        print(json.dumps(worker(args.worker, harness, args.cycles, args.warmup)))
        return 0

    results: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for r in range(args.rounds):
        order = ("off", "on") if r % 2 == 0 else ("on", "off")
        for mode in order:
            res = _run_worker(mode, harness, args.cycles, args.warmup)
            results[mode].append(res)
            print(
                f"round {r + 1} {mode:>3}: p50 {res['p50_us']:8.1f} us  p90 {res['p90_us']:8.1f} us  "
                f"mean {res['mean_us']:8.1f} us  spans in sink {res['spans_in_sink']}",
                flush=True,
            )
    off = statistics.median(x["p50_us"] for x in results["off"])
    on = statistics.median(x["p50_us"] for x in results["on"])
    off_mean = statistics.median(x["mean_us"] for x in results["off"])
    on_mean = statistics.median(x["mean_us"] for x in results["on"])
    ratio = on / off
    print(f"harness={harness} cycles={args.cycles}x{args.rounds} rounds (after {args.warmup} warm-up cycles each)")
    print(f"OFF (API no-op): median p50 {off:.1f} us/cycle, median mean {off_mean:.1f} us/cycle")
    print(f"ON  (SDK+sink+metrics): median p50 {on:.1f} us/cycle, median mean {on_mean:.1f} us/cycle")
    print(f"overhead {on - off:.1f} us/cycle; ratio ON/OFF p50 {ratio:.3f}, mean {on_mean / off_mean:.3f}")
    print("target ratio <= 1.10:", "MET" if ratio <= 1.10 else "NOT MET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
