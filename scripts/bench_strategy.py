"""What the strategy step costs per symbol and cycle: the view, the strategy's decide, the wanted-vs-live diff.

    .venv/bin/python scripts/bench_strategy.py [--cycles 20000]

For each shipped strategy it replays a random-walk mid through exactly what the strategy actor does for one
symbol (``build_view``, ``ask`` = ``decide``, ``plan`` = diff and client ids), with the orders it placed kept live
between cycles (acknowledged at once, cancelled orders gone by the next cycle), so the diff has real matching to
do. It prints p50/p99 per part in microseconds and, measured in the same run, each strategy's median total as a
ratio of the canary's (medians: on a shared machine the means follow the load more than the code). No timing is
asserted anywhere; the figures go to docs/strategies.md and the README.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.domain.orders import OrderStatus
from btcbot.runtime.cycle import CycleContext
from btcbot.runtime.lifecycle import OrderRecord, new_intent_record
from btcbot.runtime.risk_gate import RiskLimits
from btcbot.runtime.strategy import AnyStrategy, Proposal, ask, build_view, plan, strategy_limits
from btcbot.strategies.canary import CanaryStrategy
from btcbot.strategies.mean_reversion import MeanReversion
from btcbot.strategies.quoter import PassiveQuoter
from btcbot.testing.runtime_fakes import btctry_rules

LIMITS = RiskLimits(2, 2, Decimal(300), Decimal(150), Decimal(10), Decimal(2), (("*", Decimal("0.001")),))
BALANCES = {"TRY": Decimal(1_000_000), "BTC": Decimal(1)}


def book(mid: int) -> BookSnapshot:
    return BookSnapshot(
        "BTCTRY",
        tuple(PriceLevel(Decimal(mid - 300 - 100 * k), Decimal("0.5")) for k in range(10)),
        tuple(PriceLevel(Decimal(mid + 300 + 100 * k), Decimal("0.5")) for k in range(10)),
        None,
        0,
        0,
        "replay",
    )


def settle(live: list[OrderRecord], proposal: Proposal, cycle_id: int) -> list[OrderRecord]:
    """The venue's side, idealised: cancels are final by the next cycle, submits rest acknowledged."""
    gone = set(proposal.cancels)
    out = [r for r in live if r.client_order_id not in gone]
    for i, intent in enumerate(proposal.intents):
        rec = new_intent_record(intent, run_id="bench", cycle_id=cycle_id, now_ms=0, ttl_seconds=30, decision_id="d")
        out.append(replace(rec, status=OrderStatus.OPEN, exchange_order_id=cycle_id * 10 + i))
    return out


def run(strategy: AnyStrategy, cycles: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    rules = btctry_rules()
    limits = strategy_limits(LIMITS, "BTCTRY")
    mid = 3_000_000
    live: list[OrderRecord] = []
    parts: dict[str, list[float]] = {"view": [], "decide": [], "diff": [], "total": []}
    clock = time.perf_counter_ns
    for cycle in range(1, cycles + 1):
        mid += rng.choice((-1, 1)) * rng.randint(0, 1500)
        ctx = CycleContext("bench", cycle, "cycle", ("BTCTRY",), 0, 0, None, live_orders=tuple(live))
        b = book(mid)
        t0 = clock()
        view = build_view(ctx, b, rules, limits, orders=ctx.live_on("BTCTRY"), balances=BALANCES)
        t1 = clock()
        wanted = ask(strategy, view)
        t2 = clock()
        proposal = plan(wanted, ctx.live_on("BTCTRY"), rules, ctx=ctx, scope="bench")
        t3 = clock()
        for key, ns in (("view", t1 - t0), ("decide", t2 - t1), ("diff", t3 - t2), ("total", t3 - t0)):
            parts[key].append(ns / 1000)
        live = settle(live, proposal, cycle)
    return parts


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    strategies: dict[str, Any] = {
        "canary": CanaryStrategy.from_params(notional_try=150, offset_bps=20),
        "quoter": PassiveQuoter.from_params(spread_bps=20, order_notional=140, max_position="0.001"),
        "mean_reversion": MeanReversion.from_params(ema_cycles=20, warmup_cycles=20, entry_bps=10),
    }
    for s in strategies.values():  # warm-up: imports, caches, the interpreter's specialisation
        run(s, 2_000, args.seed)
    results = {name: run(s, args.cycles, args.seed) for name, s in strategies.items()}
    print(f"strategy step per symbol and cycle, {args.cycles} cycles each (microseconds)")
    print(f"{'strategy':<16}{'view p50/p99':>16}{'decide p50/p99':>18}{'diff p50/p99':>16}{'total p50/p99':>17}"
          f"{'mean':>9}{'p50 x canary':>14}")  # fmt: skip
    base = pct(results["canary"]["total"], 0.5)
    for name, parts in results.items():
        cols = "".join(
            f"{pct(parts[k], 0.5):>{w - 8}.1f} / {pct(parts[k], 0.99):<5.1f}"
            for k, w in (("view", 16), ("decide", 18), ("diff", 16), ("total", 17))
        )
        mean = statistics.fmean(parts["total"])
        print(f"{name:<16}{cols}{mean:>9.1f}{pct(parts['total'], 0.5) / base:>14.2f}")


if __name__ == "__main__":
    main()
