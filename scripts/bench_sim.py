"""Measure the simulator's speed to one client on this machine: REST requests/s and WebSocket messages/s.

    .venv/bin/python scripts/bench_sim.py [--seconds 3] [--json]

REST: one ``requests.Session`` (trust_env off) and one raw ``http.client`` connection, sequential requests,
rate limits off. WS: one websocket-client socket subscribed to every public channel of every pair while the
market clock runs flat out (market_tick_ms=1), plus ticker publishes pipelined from a second thread.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import websocket

from btcbot.sim import Simulator, signed_headers
from btcbot.sim.symbols import CATALOG


def _rate(fn: Callable[[], Any], seconds: float) -> dict[str, float]:
    lat: list[float] = []
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        if t0 >= end:
            break
        fn()
        lat.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    lat.sort()
    return {
        "requests": len(lat),
        "per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 3),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 3),
    }


def bench_rest(seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Simulator(seed=1, market_tick_ms=0, rate_limits=False) as sim:
        session = requests.Session()
        session.trust_env = False
        base = sim.rest_url

        def book() -> None:
            r = session.get(base + "/api/v2/orderbook?pairSymbol=BTCTRY", timeout=5)
            assert r.status_code == 200

        def balances() -> None:
            h = signed_headers(sim.api_key, sim.api_secret, int(time.time() * 1000))
            r = session.get(base + "/api/v1/users/balances", headers=h, timeout=5)
            assert r.status_code == 200

        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)

        def raw_time() -> None:
            conn.request("GET", "/api/v2/server/time")
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200

        def raw_book() -> None:
            conn.request("GET", "/api/v2/orderbook?pairSymbol=BTCTRY")
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200

        out["requests_orderbook"] = _rate(book, seconds)
        out["requests_signed_balances"] = _rate(balances, seconds)
        out["http_client_server_time"] = _rate(raw_time, seconds)
        out["http_client_orderbook"] = _rate(raw_book, seconds)
        conn.close()
        session.close()
    return out


def bench_ws(seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    symbols = tuple(CATALOG)
    with Simulator(seed=1, market_tick_ms=1, symbols=symbols, rate_limits=False) as sim:
        ws = websocket.create_connection(sim.ws_url, timeout=5, skip_utf8_validation=True)
        ws.recv()
        for symbol in symbols:
            for channel in ("orderbook", "obdiff", "ticker", "trade"):
                ws.send(json.dumps([151, {"type": 151, "channel": channel, "event": symbol, "join": True}]))
        counts: dict[int, int] = {}
        nbytes = 0
        start = time.perf_counter()
        end = start + seconds
        ticks0 = sim.state()["ticks"]
        while time.perf_counter() < end:
            text = ws.recv()
            nbytes += len(text)
            kind = json.loads(text)[0]
            counts[kind] = counts.get(kind, 0) + 1
        elapsed = time.perf_counter() - start
        ticks = sim.state()["ticks"] - ticks0
        ws.close()
        total = sum(counts.values())
        out["market_clock_all_channels"] = {
            "symbols": len(symbols),
            "messages": total,
            "per_s": round(total / elapsed, 1),
            "mbytes_per_s": round(nbytes / elapsed / 1e6, 2),
            "market_ticks_per_s": round(ticks / elapsed, 1),
            "by_type": {str(k): v for k, v in sorted(counts.items())},
        }
    with Simulator(seed=1, market_tick_ms=0, symbols=symbols, rate_limits=False) as sim:
        # Publishes driven from another thread as fast as the loop takes them (tick 0: tickers only, the market
        # does not move); this thread receives and parses. Measures the send path, not the market.
        ws = websocket.create_connection(sim.ws_url, timeout=5, skip_utf8_validation=True)
        ws.recv()
        for symbol in symbols:
            ws.send(json.dumps([151, {"type": 151, "channel": "ticker", "event": symbol, "join": True}]))
        for _ in range(2 * len(symbols)):  # the 100 replies and the first tickers
            ws.recv()
        stop = threading.Event()
        rounds = [0]

        def drive() -> None:
            while not stop.is_set():
                sim.tick(0)
                rounds[0] += 1

        driver = threading.Thread(target=drive)
        got = 0
        start = time.perf_counter()
        driver.start()
        end = start + seconds
        while time.perf_counter() < end:
            json.loads(ws.recv())
            got += 1
        elapsed = time.perf_counter() - start
        stop.set()
        driver.join()
        ws.close()
        out["pipelined_tickers"] = {
            "messages": got,
            "per_s": round(got / elapsed, 1),
            "publish_rounds_per_s": round(rounds[0] / elapsed, 1),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"rest": bench_rest(args.seconds), "ws": bench_ws(args.seconds)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for section, rows in result.items():
        for name, figures in rows.items():
            print(f"{section:4} {name:28} " + "  ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
