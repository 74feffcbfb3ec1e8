"""Backtest throughput with the two-sided quoter, against NautilusTrader running the same quoting on the same events.

    .venv/bin/python scripts/bench_backtest.py [--events 1000000] [--drift 0.3] [--runs 3]
                                               [--nautilus-python /tmp/nt-venv/bin/python]

One synthetic BTCTRY dataset (btcbot.replay.synthetic, a diff every 10 ms whose mid random-walks one 100-TRY
step on ``--drift`` of the events) is written once. btcbot runs ``btcbot backtest`` on it with
``STRATEGY=quoter``: the whole runtime every 10-s cycle (strategy, risk gate, order manager with its
wanted-vs-live diff, state writer, DuckDB) against the in-process venue, which matches our quotes against the
recorded book. NautilusTrader gets the same events' top of book as quote ticks (built before the clock starts)
and a strategy doing what the quoter does with the benchmark's parameters: on a 10-s timer, a post-only bid and
ask ``spread_bps`` apart around the mid, sized to ``notional``; a quote that drifted more than
``threshold_bps`` from its target is cancelled and re-placed at the next timer. Both print orders, fills and
cancels, so the work done is visible next to the rates.

Figures per run: events / wall second (btcbot: the whole replay, decode included; Nautilus: ``engine.run()``),
and events / CPU second of the process. The runs alternate (btcbot, Nautilus, btcbot, ...) so a busy machine
slows both alike; the ratio is the median of per-pair ratios. Then the per-cycle cost of the quoter's decide and
of the wanted-vs-live diff comes from scripts/bench_strategy.py's harness. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import array
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_replay import run_python, timed_replay
from bench_strategy import pct, run

from btcbot.replay.dataset import DatasetReader, Event
from btcbot.replay.market import RecordedMarket
from btcbot.replay.synthetic import write_synthetic
from btcbot.strategies.quoter import PassiveQuoter

NAUTILUS_QUOTER = r"""
import array, sys, time
from datetime import timedelta
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide, OrderStatus
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

path, spread_bps, threshold_bps, notional, cycle_s = sys.argv[1], *map(float, sys.argv[2:6])
rows = array.array("q")
with open(path, "rb") as fh:
    rows.frombytes(fh.read())
inst = TestInstrumentProvider.btcusdt_binance()
half, threshold = spread_bps / 2 / 10_000, threshold_bps / 10_000


class Quoter(Strategy):
    def __init__(self):
        super().__init__()
        self.live = {OrderSide.BUY: None, OrderSide.SELL: None}

    def on_start(self):
        self.subscribe_quote_ticks(inst.id)
        self.clock.set_timer("cycle", timedelta(seconds=cycle_s), callback=self.on_cycle)

    def on_cycle(self, event):
        quote = self.cache.quote_tick(inst.id)
        if quote is None:
            return
        bid, ask = quote.bid_price.as_double(), quote.ask_price.as_double()
        mid = (bid + ask) / 2
        for side, target in ((OrderSide.BUY, mid * (1 - half)), (OrderSide.SELL, mid * (1 + half))):
            # Never cross the book (post-only), on the whole-TRY grid like BTCTRY.
            target = min(float(int(target)), ask - 1) if side == OrderSide.BUY else max(float(-int(-target)), bid + 1)
            order = self.live[side]
            if order is not None and not order.is_closed:
                if not order.is_pending_cancel and abs(order.price.as_double() - target) > target * threshold:
                    self.cancel_order(order)  # re-placed at the next timer, once the cancel is done
                continue
            order = self.order_factory.limit(
                inst.id, side, inst.make_qty(notional / target), inst.make_price(target), post_only=True
            )
            self.live[side] = order
            self.submit_order(order)


engine = BacktestEngine(config=BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
engine.add_venue(venue=Venue("BINANCE"), oms_type=OmsType.NETTING, account_type=AccountType.CASH,
                 base_currency=None, starting_balances=[Money(1_000_000, USDT), Money(1, BTC)])
engine.add_instrument(inst)
ticks = [
    QuoteTick(instrument_id=inst.id, bid_price=Price(rows[i + 1], 2), ask_price=Price(rows[i + 2], 2),
              bid_size=Quantity(rows[i + 3] / 1e8, 6), ask_size=Quantity(rows[i + 4] / 1e8, 6),
              ts_event=rows[i] * 1_000_000, ts_init=rows[i] * 1_000_000)
    for i in range(0, len(rows), 5)
]
engine.add_strategy(Quoter())
loaded = time.perf_counter()
engine.add_data(ticks)
began = time.perf_counter()
cpu = time.process_time()
engine.run()
cpu = time.process_time() - cpu
done = time.perf_counter()
orders = engine.cache.orders()
fills = sum(len(o.trade_ids) for o in orders)
cancelled = sum(o.status == OrderStatus.CANCELED for o in orders)
rejected = sum(o.status == OrderStatus.REJECTED for o in orders)
n = len(ticks)
print(n / (done - began), n / (done - loaded), n / cpu, len(orders), fills, cancelled, rejected)
"""


def top_of_book(dataset: Path, out: Path) -> int:
    """The dataset's best bid and ask after every event, as int64 rows (ms, bid, ask, bid size e8, ask size e8)."""
    market = RecordedMarket(DatasetReader(dataset))
    rows = array.array("q")
    book = market.books["BTCTRY"]

    def record(ev: Event) -> None:
        bid = max(book.bids, key=float)
        ask = min(book.asks, key=float)
        rows.extend((ev[1], int(bid), int(ask), round(float(book.bids[bid]) * 1e8), round(float(book.asks[ask]) * 1e8)))

    market.watch("BTCTRY", record)
    market.advance_to(2**62)
    with out.open("wb") as fh:
        rows.tofile(fh)
    return len(rows) // 5


def quoter_env(path: Path, spread_bps: float, threshold_bps: float, notional: float) -> Path:
    """Settings for the quoter (the same parameters as the Nautilus strategy; no skew, no TTL in the way)."""
    params = {"spread_bps": spread_bps, "replace_threshold_bps": threshold_bps, "order_notional": notional,
              "skew_bps": 0}  # fmt: skip
    lines = {
        "STRATEGY": "quoter",
        "STRATEGY_PARAMS": json.dumps(params),
        "MAX_ORDERS_PER_CYCLE": "2",
        "MAX_OPEN_ORDERS_PER_SYMBOL": "2",
        "NOTIONAL_CAP_TRY_PER_CYCLE": str(4 * notional),
        "MAX_NOTIONAL_PER_ORDER_TRY": str(2 * notional),
        "TTL_SECONDS": "86400",
    }
    path.write_text("".join(f"{k}='{v}'\n" for k, v in lines.items()), encoding="utf-8")
    return path


def bench_btcbot(dataset: Path, env: Path, run: int, tmp: Path) -> tuple[float, float, dict[str, Any]]:
    result, per_cpu = timed_replay(
        dataset=str(dataset), speed=None, db=tmp / f"bt{run}.db", seed=1, env_file=str(env), command="backtest"
    )
    s = result.summary()
    print(
        f"btcbot run {run}: {result.events} events, {result.cycles} cycles, {result.wall_s:.2f} s, "
        f"{result.events_per_s:,.0f} events/s ({per_cpu:,.0f} per CPU-second); orders {s['orders']}, "
        f"fills {s['fills']}, cancelled {s['orders_cancelled']}, rejected {s['orders_rejected']}",
        flush=True,
    )
    return result.events_per_s, per_cpu, s


def bench_nautilus(python: str, ticks: Path, args: argparse.Namespace, run: int) -> tuple[float, float] | None:
    figures = run_python(
        python, NAUTILUS_QUOTER, str(ticks), str(args.spread_bps), str(args.threshold_bps), str(args.notional), "10"
    )
    if figures is None:
        return None
    run_only, with_load, per_cpu, orders, fills, cancelled, rejected = figures
    print(
        f"nautilus run {run}: {run_only:,.0f} quote ticks/s in engine.run() ({with_load:,.0f}/s including "
        f"add_data; {per_cpu:,.0f} per CPU-second); orders {orders:.0f}, fills {fills:.0f}, "
        f"cancelled {cancelled:.0f}, rejected {rejected:.0f}",
        flush=True,
    )
    return run_only, per_cpu


def strategy_step_cost(cycles: int, args: argparse.Namespace) -> dict[str, float]:
    """p50/p99 microseconds of the quoter's decide and of the wanted-vs-live diff (bench_strategy's harness)."""
    quoter = PassiveQuoter.from_params(
        spread_bps=args.spread_bps, replace_threshold_bps=args.threshold_bps, order_notional=args.notional, skew_bps=0
    )
    run(quoter, 2_000, 3)  # warm-up
    parts = run(quoter, cycles, 3)
    return {f"{k}_{q}_us": round(pct(parts[k], p), 1) for k in ("decide", "diff", "total") for q, p in (("p50", 0.5),
            ("p99", 0.99))}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--drift", type=float, default=0.3, help="share of events that move the mid one step")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--spread-bps", type=float, default=10)
    ap.add_argument("--threshold-bps", type=float, default=5)
    ap.add_argument("--notional", type=float, default=120)
    ap.add_argument("--strategy-cycles", type=int, default=20_000)
    ap.add_argument("--nautilus-python", default=None, help="interpreter of a throwaway venv with nautilus_trader")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    base = Path(tempfile.gettempdir())
    dataset = base / f"btcbot-bench-quoter-{args.events}-{args.drift}.jsonl.gz"
    if not dataset.exists():
        began = time.perf_counter()
        write_synthetic(dataset, events=args.events, drift=args.drift)
        print(f"wrote {dataset} ({dataset.stat().st_size:,} bytes) in {time.perf_counter() - began:.1f} s")
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = quoter_env(tmp / "quoter.env", args.spread_bps, args.threshold_bps, args.notional)
        ticks = tmp / "ticks.i64"
        if args.nautilus_python:
            print(f"top of book: {top_of_book(dataset, ticks):,} quote ticks for NautilusTrader", flush=True)
        for run in range(1, args.runs + 1):
            rate, per_cpu, _ = bench_btcbot(dataset, env, run, tmp)
            ours.append((rate, per_cpu))
            if args.nautilus_python:
                nt = bench_nautilus(args.nautilus_python, ticks, args, run)
                if nt:
                    theirs.append(nt)
                    ratios.append(rate / nt[0])
                    cpu_ratios.append(per_cpu / nt[1])
    report: dict[str, object] = {
        "events": args.events,
        "btcbot_events_per_s": round(statistics.median(r[0] for r in ours)),
        "btcbot_events_per_cpu_s": round(statistics.median(r[1] for r in ours)),
    }
    print(
        f"btcbot backtest, quoter: {report['btcbot_events_per_s']:,} events/s, "
        f"{report['btcbot_events_per_cpu_s']:,} per CPU-second (medians of {args.runs})"
    )
    if theirs:
        report.update(
            nautilus_events_per_s=round(statistics.median(t[0] for t in theirs)),
            nautilus_events_per_cpu_s=round(statistics.median(t[1] for t in theirs)),
            ratio=round(statistics.median(ratios), 3),
            cpu_ratio=round(statistics.median(cpu_ratios), 3),
        )
        print(
            f"NautilusTrader, same quoting: {report['nautilus_events_per_s']:,} quote ticks/s, "
            f"{report['nautilus_events_per_cpu_s']:,} per CPU-second; btcbot/nautilus = {report['ratio']} by wall "
            f"time, {report['cpu_ratio']} by CPU time (medians of per-pair ratios)"
        )
    step = strategy_step_cost(args.strategy_cycles, args)
    report.update(step)
    print(
        f"quoter step per cycle (bench_strategy harness, {args.strategy_cycles} cycles): decide p50 "
        f"{step['decide_p50_us']} / p99 {step['decide_p99_us']} us, wanted-vs-live diff p50 {step['diff_p50_us']} / "
        f"p99 {step['diff_p99_us']} us, view + decide + diff p50 {step['total_p50_us']} / p99 {step['total_p99_us']} us"
    )
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
