"""Regenerate the shipped dataset (src/btcbot/data/sim_btctry.jsonl.gz) by recording the simulator.

    .venv/bin/python scripts/make_dataset.py [--out PATH] [--seconds 150] [--freeze-at 60] [--freeze-for 15]

It starts the local simulator (seed 1), records its WebSocket obdiff stream for BTCTRY through the same
recorder as `btcbot record`, and freezes the simulator's market data for --freeze-for seconds in the
middle: a stale episode longer than MAX_MARKET_DATA_AGE_MS (3 s) *and* than one cycle (10 s), so a replay
with the default settings must block at least one cycle with market_data:stale.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.request
from pathlib import Path

from btcbot.replay.recorder import record
from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "btcbot" / "data" / "sim_btctry.jsonl.gz"


def _faults(rest_url: str, **changes: object) -> None:
    req = urllib.request.Request(  # noqa: S310 - loopback simulator only
        rest_url + "/sim/faults",
        data=json.dumps(changes).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback simulator only
        resp.read()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seconds", type=float, default=150.0)
    ap.add_argument("--freeze-at", type=float, default=60.0)
    ap.add_argument("--freeze-for", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.out.exists():
        args.out.unlink()
    with Simulator(
        seed=args.seed,
        symbols=("BTCTRY",),
        api_key=DEMO_API_KEY,
        api_secret=DEMO_API_SECRET,
        market_tick_ms=250,
        host="127.0.0.1",
    ) as sim:

        def freeze() -> None:
            time.sleep(args.freeze_at)
            _faults(sim.rest_url, freeze_market_data=True)
            time.sleep(args.freeze_for)
            _faults(sim.rest_url, freeze_market_data=False)

        threading.Thread(target=freeze, daemon=True).start()
        stats = record(
            source="ws",
            base_url=sim.rest_url,
            ws_url=sim.ws_url,
            symbols=("BTCTRY",),
            out=args.out,
            duration_s=args.seconds,
            extra_header={
                "generator": "scripts/make_dataset.py",
                "sim_seed": args.seed,
                "stale_episode": {"after_s": args.freeze_at, "seconds": args.freeze_for},
            },
        )
    print(f"wrote {args.out}: {stats.events} events, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
