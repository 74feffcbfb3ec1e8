"""Benchmark the BTCTurk adapter against the local simulator.

Measures:
  * WS book updates applied per second: (a) the adapter alone, replaying recorded 432 frames through the
    reader's frame handler; (b) end to end over loopback, simulator ticking as fast as it can.
  * REST round trip p50/p99 over loopback for a public call (server time), the order book and a signed call.

Usage: .venv/bin/python scripts/bench_adapter.py [--rest-n 2000] [--frames 5000]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

import websocket

from btcbot.exchange.btcturk import BtcturkHttp
from btcbot.exchange.btcturk.limiter import unlimited
from btcbot.exchange.btcturk.ws import WsMarketData
from btcbot.sim import Simulator


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_rest(sim: Any, n: int) -> dict[str, tuple[float, float]]:
    http = BtcturkHttp(sim.rest_url, api_key=sim.api_key, api_secret=sim.api_secret, limiter=unlimited())
    out: dict[str, tuple[float, float]] = {}
    calls = {
        "GET /api/v2/server/time": http.server_time_ms,
        "GET /api/v2/orderbook (BTCTRY, all levels)": lambda: http.order_book("BTCTRY"),
        "GET /api/v1/users/balances (signed)": http.balances,
    }
    for name, fn in calls.items():
        for _ in range(50):
            fn()
        lat: list[float] = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            fn()
            lat.append((time.perf_counter_ns() - t0) / 1e6)
        out[name] = (statistics.median(lat), pct(lat, 0.99))
    http.close()
    return out


def record_frames(sim: Any, n: int) -> list[bytes]:
    ws = websocket.create_connection(sim.ws_url, skip_utf8_validation=True)
    ws.send('[151, {"type": 151, "channel": "obdiff", "event": "BTCTRY", "join": true}]')
    frames: list[bytes] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            sim.tick(1)

    t = threading.Thread(target=ticker, daemon=True)
    t.start()
    ws.settimeout(5)
    while len(frames) < n + 1:
        _op, data = ws.recv_data()
        if data.startswith((b"[431,", b"[432,")):
            if not frames and not data.startswith(b"[431,"):
                continue
            frames.append(bytes(data))
    stop.set()
    t.join()
    ws.close()
    return frames


def bench_apply(frames: list[bytes]) -> float:
    md = WsMarketData("ws://unused", ("BTCTRY",))
    clock_ns = time.monotonic_ns
    md._handle(None, frames[0], clock_ns(), 0)  # type: ignore[arg-type]  # the 431
    t0 = time.perf_counter()
    for f in frames[1:]:
        md._handle(None, f, clock_ns(), 0)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t0
    assert md.stats.gaps == 0 and md.stats.diffs_applied == len(frames) - 1
    return md.stats.diffs_applied / elapsed


def bench_end_to_end(sim: Any, seconds: float) -> tuple[float, int]:
    md = WsMarketData(sim.ws_url, ("BTCTRY",), channels=("obdiff",))
    md.start()
    md.wait_for_book("BTCTRY", 5)
    start_applied = md.stats.diffs_applied
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        sim.tick(1)
    time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    applied = md.stats.diffs_applied - start_applied
    gaps = md.stats.gaps
    md.stop()
    return applied / elapsed, gaps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rest-n", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with Simulator(seed=1, market_tick_ms=0, rate_limits=False) as sim:
        rest = bench_rest(sim, args.rest_n)
        frames = record_frames(sim, args.frames)
        apply_rate = bench_apply(frames)
        e2e_rate, gaps = bench_end_to_end(sim, args.seconds)
    print(f"REST round trip over loopback, n={args.rest_n} each (ms):")
    for name, (p50, p99) in rest.items():
        print(f"  {name:44s} p50 {p50:6.2f}  p99 {p99:6.2f}")
    print(f"WS book diffs applied by the adapter alone ({len(frames) - 1} recorded 432 frames): {apply_rate:,.0f}/s")
    label = f"WS book diffs applied end to end (simulator ticking flat out, {args.seconds:.0f}s)"
    print(f"{label}: {e2e_rate:,.0f}/s, gaps {gaps}")


if __name__ == "__main__":
    main()
