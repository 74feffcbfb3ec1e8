#!/usr/bin/env python
"""Where a slow cycle's time goes: a per-step breakdown of the slowest cycles, and what ran beside them.

Runs cycles as ``bench_runtime.py`` does and records, for every cycle, each actor step's wait (from the
previous step's end to its own start: mailbox, thread wake-up, the interpreter lock) and work, plus the intervals
of the work that may run beside a cycle: span exports (the exporter's thread), state-store flushes, and garbage
collections (gc callbacks). It then prints how often the slowest 2 % of cycles overlapped each kind of
background work, against all cycles, and the breakdown of the slowest few.

    .venv/bin/python scripts/cycle_breakdown.py --telemetry on --store buffer --cycles 1000

Instrumentation wraps a few methods for the duration of the run (a measurement aid, never used by btcbot).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_runtime

from btcbot.actors._base import BtcbotActor, Routes
from btcbot.runtime import session
from btcbot.storage.store import StateStore
from btcbot.telemetry.redact import RedactingSpanExporter

now = time.perf_counter_ns


class Recorder:
    def __init__(self) -> None:
        self.steps: dict[int, list[tuple[str, int, int]]] = {}  # cycle -> (actor, start, end)
        self.background: list[tuple[str, int, int]] = []  # (kind, start, end)
        self.sent: dict[int, int] = {}
        self.done: dict[int, int] = {}
        self._gc_start = 0
        self._undo: list[Callable[[], None]] = []

    def _patch(self, owner: Any, name: str, wrapper: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        setattr(owner, name, wrapper(original))
        self._undo.append(lambda: setattr(owner, name, original))

    def install(self) -> None:
        rec = self

        def on_receive(original: Any) -> Any:
            def wrapped(actor: BtcbotActor, message: Any) -> Any:
                ctx, start = getattr(message, "ctx", None), now()
                try:
                    return original(actor, message)
                finally:
                    if ctx is not None and ctx.purpose == "cycle":
                        rec.steps.setdefault(ctx.cycle_id, []).append((actor.actor_name, start, now()))

            return wrapped

        def tell(original: Any) -> Any:
            def wrapped(routes: Routes, name: str, message: Any) -> None:
                if name == "feed":
                    rec.sent[message.ctx.cycle_id] = now()
                original(routes, name, message)

            return wrapped

        def await_completion(original: Any) -> Any:
            def wrapped(sess: Any, cycle_id: int, purpose: str) -> Any:
                result = original(sess, cycle_id, purpose)
                if purpose == "cycle":
                    rec.done[cycle_id] = now()
                return result

            return wrapped

        def interval(kind: str) -> Callable[[Any], Any]:
            def wrapper(original: Any) -> Any:
                def wrapped(*args: Any, **kwargs: Any) -> Any:
                    start = now()
                    try:
                        return original(*args, **kwargs)
                    finally:
                        rec.background.append((kind, start, now()))

                return wrapped

            return wrapper

        self._patch(BtcbotActor, "on_receive", on_receive)
        self._patch(Routes, "tell", tell)
        self._patch(session._Session, "await_completion", await_completion)
        self._patch(RedactingSpanExporter, "export", interval("span_export"))
        self._patch(StateStore, "flush", interval("db_flush"))
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = now()
        else:
            self.background.append((f"gc_gen{info['generation']}", self._gc_start, now()))

    def uninstall(self) -> None:
        gc.callbacks.remove(self._on_gc)
        for undo in reversed(self._undo):
            undo()


def report(rec: Recorder, warmup: int) -> None:
    rows = []
    for cycle, sent in rec.sent.items():
        if cycle not in rec.done or cycle <= warmup:
            continue
        done = rec.done[cycle]
        overlap: dict[str, float] = {}
        for kind, start, end in rec.background:
            shared = min(end, done) - max(start, sent)
            if shared > 0:
                overlap[kind] = overlap.get(kind, 0.0) + shared / 1e6
        hops, prev = [], sent
        for actor, start, end in sorted(rec.steps.get(cycle, []), key=lambda s: s[1]):
            hops.append((actor, (start - prev) / 1e6, (end - start) / 1e6))
            prev = end
        rows.append(((done - sent) / 1e6, cycle, overlap, hops))
    rows.sort(key=lambda r: r[0])
    n = len(rows)
    slow = rows[-max(1, n // 50) :]
    p50 = rows[n // 2][0]
    p99 = rows[min(n - 1, round(0.99 * (n - 1)))][0]
    print(f"cycles={n} overhead p50={p50:.2f} ms p99={p99:.2f} ms; slowest 2% = {len(slow)} cycles")
    for kind in sorted({k for _, _, overlap, _ in rows for k in overlap}):
        hit_slow = sum(1 for r in slow if kind in r[2])
        hit_all = sum(1 for r in rows if kind in r[2])
        print(f"  overlapped {kind:<12} slowest 2%: {hit_slow}/{len(slow)}   all cycles: {hit_all}/{n}")

    def waits(selection: list[Any]) -> float:
        return statistics.fmean(sum(h[1] for h in r[3]) for r in selection)

    def works(selection: list[Any]) -> float:
        return statistics.fmean(sum(h[2] for h in r[3]) for r in selection)

    print(
        f"  step waits (mailbox + wake-up) mean: all {waits(rows):.2f} ms, slowest {waits(slow):.2f} ms; "
        f"step work mean: all {works(rows):.2f} ms, slowest {works(slow):.2f} ms"
    )
    for total, cycle, overlap, hops in slow[-5:]:
        beside = ", ".join(f"{k} {v:.1f} ms" for k, v in overlap.items()) or "nothing in-process"
        steps = " ".join(f"{a}:{w:.1f}+{k:.1f}" for a, w, k in hops)
        print(f"  cycle {cycle}: {total:.1f} ms, beside it: {beside}\n    wait+work per step (ms): {steps}")


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--telemetry", choices=("on", "off"), default="on")
    ap.add_argument("--store", choices=("buffer", "duckdb"), default="buffer")
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--spacing", type=float, default=0.02)
    ap.add_argument("--live", action="store_true", help="armed, an order every cycle (default: observe mode)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        handle = bench_runtime.configure(args.telemetry, tmp)
        rec = Recorder()
        rec.install()
        try:
            bench_runtime.run(
                tmp / "run",
                cycles=args.cycles,
                live=args.live,
                real_store=args.store == "duckdb",
                telemetry=args.telemetry,
                spacing=args.spacing,
            )
        finally:
            rec.uninstall()
            handle.shutdown()
    mode = "live" if args.live else "observe"
    print(f"telemetry={args.telemetry} store={args.store} mode={mode} spacing={args.spacing}s")
    report(rec, bench_runtime.WARMUP)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
