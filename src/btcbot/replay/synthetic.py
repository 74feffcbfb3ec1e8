"""A synthetic obdiff-style dataset of any size, for the throughput benchmark (not for realism).

The shipped dataset is recorded from the simulator over WebSocket (scripts/make_dataset.py); a benchmark
needs a million events, which would take hours to record at the venue's pace, so this writes the same
format directly: a 431 full book per symbol, then 432 diffs (one level moved per side, like a quiet book).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from btcbot.replay.dataset import DIFF, FULL_BOOK, DatasetHeader, DatasetWriter

BTCTRY_ENTRY: dict[str, Any] = {
    "id": 1,
    "name": "BTCTRY",
    "nameNormalized": "BTC_TRY",
    "status": "TRADING",
    "numerator": "BTC",
    "denominator": "TRY",
    "numeratorScale": 8,
    "denominatorScale": 0,
    "hasFraction": False,
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "1",
            "maxPrice": "100000000",
            "tickSize": "1",
            "minExchangeValue": "99.91",
            "minAmount": None,
            "maxAmount": None,
        }
    ],
    "orderMethods": ["MARKET", "LIMIT"],
    "maximumOrderAmount": None,
    "maximumLimitOrderPrice": 30000000,
    "minimumLimitOrderPrice": 300000,
}


def write_synthetic(
    path: Path, *, events: int, interval_ms: int = 10, seed: int = 7, depth: int = 20, start_ms: int = 1_790_000_000_000
) -> int:
    """Write ``events`` events (one 431, then 432 diffs every ``interval_ms``) for BTCTRY; returns the count."""
    rng = random.Random(seed)
    header = DatasetHeader(
        path=str(path),
        source="synthetic",
        symbols=("BTCTRY",),
        recorded_from="synthetic",
        started_ms=start_ms,
        exchange_info={"BTCTRY": BTCTRY_ENTRY},
        extra={"generator": "btcbot.replay.synthetic", "seed": seed},
    )
    writer = DatasetWriter(path, header)
    mid = 3_000_000
    step = 100
    bids = {mid - step * (i + 1): rng.randint(1, 100_000) for i in range(depth)}
    asks = {mid + step * (i + 1): rng.randint(1, 100_000) for i in range(depth)}

    def amt(units: int) -> str:
        return f"{units / 100_000:.8f}".rstrip("0").rstrip(".") or "0"

    t = start_ms
    cs = 1
    writer.write(
        [
            FULL_BOOK,
            t,
            None,
            "BTCTRY",
            cs,
            [[str(p), amt(a)] for p, a in sorted(bids.items(), reverse=True)],
            [[str(p), amt(a)] for p, a in sorted(asks.items())],
        ]
    )
    for _ in range(events - 1):
        t += interval_ms
        cs += 1
        side = bids if rng.random() < 0.5 else asks
        price = rng.choice(list(side))
        size = rng.randint(1, 100_000)
        side[price] = size
        level = [str(price), amt(size), 0]
        writer.write([DIFF, t, None, "BTCTRY", cs, [level] if side is bids else [], [level] if side is asks else []])
    writer.close()
    return events
