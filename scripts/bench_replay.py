"""Market-data events per second through the full actor graph at --speed max (and NautilusTrader, if present).

    .venv/bin/python scripts/bench_replay.py [--events 1000000] [--interval-ms 10] [--runs 3]
                                             [--nautilus-python /tmp/nt-venv/bin/python]

A synthetic BTCTRY obdiff dataset (btcbot.replay.synthetic) is written once, then replayed ``--runs`` times
by the real ``btcbot replay`` code path: dataset decode + validation, book updates, the feed/guard/strategy/
risk/order-manager/state-writer actors every CYCLE_SECONDS (10 s virtual => 1,000 events per cycle at the
default 10 ms spacing), the in-process venue and the DuckDB writes. The figure is events / wall seconds of
the whole replay (median of the runs). With --nautilus-python, the same number of quote ticks is pushed
through NautilusTrader's BacktestEngine with a no-op strategy in that interpreter (never a btcbot dependency),
and the ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from btcbot.replay.session import ReplayResult, run_replay
from btcbot.replay.synthetic import write_synthetic

NAUTILUS_BENCH = r"""
import sys, time
from decimal import Decimal
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.data import TestDataStubs
from nautilus_trader.trading.strategy import Strategy
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.objects import Price, Quantity

n = int(sys.argv[1])
engine = BacktestEngine(config=BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
engine.add_venue(venue=Venue("SIM"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                 base_currency=USD, starting_balances=[Money(1_000_000, USD)])
inst = TestInstrumentProvider.default_fx_ccy("AUD/USD")
engine.add_instrument(inst)
ticks = []
t0 = 1_700_000_000_000_000_000
for i in range(n):
    bid = 1.0 + (i % 100) * 0.00001
    ticks.append(QuoteTick(instrument_id=inst.id, bid_price=Price(bid, 5), ask_price=Price(bid + 0.0001, 5),
                           bid_size=Quantity.from_int(1_000_000), ask_size=Quantity.from_int(1_000_000),
                           ts_event=t0 + i * 10_000_000, ts_init=t0 + i * 10_000_000))
engine.add_strategy(Strategy())
loaded = time.perf_counter()
engine.add_data(ticks)
began = time.perf_counter()
cpu = time.process_time()
engine.run()
cpu = time.process_time() - cpu
done = time.perf_counter()
print(n / (done - began), n / (done - loaded), n / cpu)
"""


def timed_replay(**kwargs: Any) -> tuple[ReplayResult, float]:
    """``run_replay(**kwargs)`` and its events per CPU second of the whole process (all actor threads together)."""
    cpu = time.process_time()
    result = run_replay(**kwargs)
    return result, result.events / (time.process_time() - cpu)


def run_python(python: str, script: str, *args: str) -> list[float] | None:
    """Run ``script`` in another interpreter (a throwaway venv); its last stdout line, as numbers, or None."""
    out = subprocess.run([python, "-c", script, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"{Path(python).parent.parent.name} run failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return [float(x) for x in out.stdout.strip().splitlines()[-1].split()]


def bench_btcbot(dataset: Path, run: int, tmp: Path) -> tuple[float, float]:
    """(events per wall second, events per CPU second of the whole process: all actor threads together)."""
    result, per_cpu = timed_replay(dataset=str(dataset), speed=None, db=tmp / f"bench{run}.db", seed=1, env_file=None)
    print(
        f"btcbot run {run}: {result.events} events, {result.cycles} cycles, {result.wall_s:.2f} s, "
        f"{result.events_per_s:,.0f} events/s ({per_cpu:,.0f} per CPU-second)",
        flush=True,
    )
    return result.events_per_s, per_cpu


def bench_nautilus(python: str, events: int, run: int) -> tuple[float, float] | None:
    figures = run_python(python, NAUTILUS_BENCH, str(events))
    if figures is None:
        return None
    run_only, with_load, per_cpu = figures
    print(
        f"nautilus run {run}: {run_only:,.0f} quote ticks/s in engine.run() ({with_load:,.0f}/s including "
        f"add_data; {per_cpu:,.0f} per CPU-second)",
        flush=True,
    )
    return run_only, per_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--interval-ms", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dataset", type=Path, default=None, help="reuse this synthetic dataset (written if missing)")
    ap.add_argument("--nautilus-python", default=None, help="interpreter of a throwaway venv with nautilus_trader")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    dataset = args.dataset or Path(tempfile.gettempdir()) / f"btcbot-bench-{args.events}-{args.interval_ms}.jsonl.gz"
    if not dataset.exists():
        began = time.perf_counter()
        write_synthetic(dataset, events=args.events, interval_ms=args.interval_ms)
        print(f"wrote {dataset} ({dataset.stat().st_size:,} bytes) in {time.perf_counter() - began:.1f} s")
    # Interleaved (btcbot, nautilus, btcbot, ...) so a busy machine slows both alike; ratios are per pair.
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, args.runs + 1):
            ours.append(bench_btcbot(dataset, run, Path(tmp)))
            if args.nautilus_python:
                nt = bench_nautilus(args.nautilus_python, args.events, run)
                if nt:
                    theirs.append(nt)
                    ratios.append(ours[-1][0] / nt[0])
                    cpu_ratios.append(ours[-1][1] / nt[1])
    mine = statistics.median(r[0] for r in ours)
    mine_cpu = statistics.median(r[1] for r in ours)
    report: dict[str, object] = {
        "events": args.events,
        "btcbot_events_per_s": round(mine),
        "btcbot_events_per_cpu_s": round(mine_cpu),
    }
    print(
        f"btcbot replay --speed max: {mine:,.0f} market-data events/s, {mine_cpu:,.0f} per CPU-second "
        f"(medians of {args.runs})"
    )
    if theirs:
        nt_median = statistics.median(t[0] for t in theirs)
        nt_cpu = statistics.median(t[1] for t in theirs)
        ratio = statistics.median(ratios)
        cpu_ratio = statistics.median(cpu_ratios)
        report.update(
            nautilus_events_per_s=round(nt_median),
            nautilus_events_per_cpu_s=round(nt_cpu),
            ratio=round(ratio, 3),
            cpu_ratio=round(cpu_ratio, 3),
        )
        print(
            f"NautilusTrader BacktestEngine: {nt_median:,.0f} quote ticks/s, {nt_cpu:,.0f} per CPU-second; "
            f"btcbot/nautilus = {ratio:.2f} by wall time, {cpu_ratio:.2f} by CPU time (medians of per-pair ratios)"
        )
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
