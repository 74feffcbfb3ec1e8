"""A synthetic obdiff-style dataset of any size, for the throughput benchmark (not for realism).

The shipped dataset is recorded from the simulator over WebSocket (scripts/make_dataset.py); a benchmark
needs a million events, which would take hours to record at the venue's pace, so this writes the same
format directly: a 431 full book per symbol, then 432 diffs (one level resized, like a quiet book). With
``drift`` > 0 that share of the diffs instead moves the whole book one price step up or down (a random walk of
the mid: the level that leaves the top of one side is removed, the other side gains one), so a quoting
strategy sees its quotes drift away and get traded through, as on a moving market.
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
    path: Path,
    *,
    events: int,
    interval_ms: int = 10,
    seed: int = 7,
    depth: int = 20,
    start_ms: int = 1_790_000_000_000,
    drift: float = 0.0,
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
        extra={"generator": "btcbot.replay.synthetic", "seed": seed, "drift": drift},
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
        if drift and rng.random() < drift:
            way = 1 if rng.random() < 0.5 else -1
            mid += way * step
            grow, shrink = (bids, asks) if way == 1 else (asks, bids)
            top, deepest = mid - way * step, mid - way * step * (depth + 1)  # the growing side's new top, old bottom
            bottom = mid + way * step * depth  # the shrinking side's new bottom; its old top sat at the new mid
            grow[top] = rng.randint(1, 100_000)
            del grow[deepest], shrink[mid]
            shrink[bottom] = rng.randint(1, 100_000)
            grown = [[str(top), amt(grow[top]), 1], [str(deepest), "0", 3]]
            shrunk = [[str(mid), "0", 3], [str(bottom), amt(shrink[bottom]), 1]]
            moved_bids, moved_asks = (grown, shrunk) if way == 1 else (shrunk, grown)
            writer.write([DIFF, t, None, "BTCTRY", cs, moved_bids, moved_asks])
            continue
        side = bids if rng.random() < 0.5 else asks
        price = rng.choice(list(side))
        size = rng.randint(1, 100_000)
        side[price] = size
        level = [str(price), amt(size), 0]
        writer.write([DIFF, t, None, "BTCTRY", cs, [level] if side is bids else [], [level] if side is asks else []])
    writer.close()
    return events
