"""The reference strategies through the real runtime and the replay venue.

The quoter: fills, the position cap, order traffic per window. Mean reversion: in and out of a position.

A random-walk book (one full book every 500 ms for 5 virtual minutes, 300 one-second cycles) makes the quotes
fill and drift. BTCTurk allows 10 submits and 10 cancels per second and 300 of each per minute; the quoter must
stay inside those with room to spare because it only moves a quote that drifted past its threshold.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from btcbot import reason_codes as rc
from btcbot.replay.dataset import FULL_BOOK, DatasetHeader, DatasetWriter
from btcbot.replay.session import run_replay
from btcbot.replay.synthetic import BTCTRY_ENTRY

pytestmark = pytest.mark.slow

T0 = 1_790_000_000_000
CAP = Decimal("0.00011")  # two quotes' worth: the cap binds often
VENUE_LIMITS = ((1_000, 10), (60_000, 300))  # (window ms, requests) for POST /order and for DELETE /order


def random_walk(path: Path, *, seconds: int = 300, seed: int = 11) -> Path:
    rng = random.Random(seed)
    header = DatasetHeader(str(path), "synthetic", ("BTCTRY",), "test", T0, {"BTCTRY": BTCTRY_ENTRY})
    writer = DatasetWriter(path, header)
    mid = 3_000_000
    for i in range(seconds * 2):
        mid += rng.choice((-1, 1)) * rng.randint(0, 2_000)
        bids = [[str(mid - 300 - 100 * k), "0.5"] for k in range(5)]
        asks = [[str(mid + 300 + 100 * k), "0.5"] for k in range(5)]
        writer.write([FULL_BOOK, T0 + 500 * i, None, "BTCTRY", i + 1, bids, asks])
    writer.close()
    return path


def backtest(tmp_path: Path, dataset: Path, name: str, settings: str, strategy: str, params: dict[str, Any]) -> Path:
    env = tmp_path / f"{name}.env"
    env.write_text(
        f"CYCLE_SECONDS=1\nTTL_SECONDS=3600\n{settings}STRATEGY={strategy}\n"
        f"STRATEGY_PARAMS='{json.dumps(params)}'\nOTEL_SDK_DISABLED=true\n"
    )
    db = tmp_path / f"{name}.db"
    result = run_replay(dataset=str(dataset), speed=None, db=db, seed=1, env_file=str(env), command="backtest")
    assert result.exit_code == 0, result.line()
    assert result.cycles >= 290
    return db


def run_quoter(tmp_path: Path, dataset: Path, threshold_bps: int) -> Path:
    params = {"spread_bps": 20, "order_notional": 150, "skew_bps": 10, "replace_threshold_bps": threshold_bps}
    caps = (
        "MAX_ORDERS_PER_CYCLE=2\nMAX_OPEN_ORDERS_PER_SYMBOL=2\nNOTIONAL_CAP_TRY_PER_CYCLE=300\n"
        f"MAX_POSITION_BASE={CAP}\n"
    )
    return backtest(tmp_path, dataset, f"t{threshold_bps}", caps, "quoter", params)


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def peak_per_window(times_ms: list[int], window_ms: int) -> int:
    times = sorted(times_ms)
    peak, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window_ms:
            lo += 1
        peak = max(peak, hi - lo + 1)
    return peak


def peak_position(db: Path) -> Decimal:
    position, peak = Decimal(0), Decimal(0)
    for side, qty in rows(db, "SELECT side, quantity FROM fills ORDER BY ts, trade_id"):
        position += qty if side == "buy" else -qty
        peak = max(peak, abs(position))
    return peak


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("reference")
    return tmp, random_walk(tmp / "walk.jsonl.gz")


@pytest.fixture(scope="module")
def runs(walk: tuple[Path, Path]) -> dict[int, Path]:
    return {bps: run_quoter(*walk, bps) for bps in (0, 20)}


def traffic(db: Path) -> dict[str, list[int]]:
    events = rows(db, "SELECT event, epoch_ms(ts) FROM order_events WHERE event IN ('intent', 'cancel_requested')")
    out: dict[str, list[int]] = {"intent": [], "cancel_requested": []}
    for event, ts in events:
        out[event].append(int(ts))
    return out


def test_order_traffic_stays_inside_the_venue_rate_limits(runs: dict[int, Path]) -> None:
    for db in runs.values():
        t = traffic(db)
        for kind in ("intent", "cancel_requested"):
            for window, limit in VENUE_LIMITS:
                assert peak_per_window(t[kind], window) <= limit, (db.name, kind, window)


def test_the_threshold_is_what_keeps_quotes_from_churning(runs: dict[int, Path]) -> None:
    eager, calm = traffic(runs[0]), traffic(runs[20])
    assert len(calm["intent"]) * 2 < len(eager["intent"])
    assert len(calm["cancel_requested"]) * 2 < len(eager["cancel_requested"])
    codes = Counter(r[0] for r in rows(runs[20], "SELECT reason_code FROM decisions"))
    assert codes[rc.ORDER_REPLACE_CANCEL] > 0 and codes[rc.STRATEGY_ORDER_ACTIVE] > 0


def test_quotes_fill_on_both_sides_and_the_position_stays_within_the_cap(runs: dict[int, Path]) -> None:
    assert {r[0] for r in rows(runs[20], "SELECT side FROM fills")} == {"buy", "sell"}
    for db in runs.values():
        assert peak_position(db) <= CAP
        codes = {r[0] for r in rows(db, "SELECT reason_code FROM decisions")}
        assert rc.RISK_MAX_POSITION not in codes  # the quoter stops a side itself before the gate has to
        assert not codes & {rc.ORDER_REJECTED, rc.RISK_POST_ONLY_WOULD_TAKE}
    assert peak_position(runs[20]) > CAP / 2  # it did trade up to the cap, so the cap was tested
    why = [r[0] for r in rows(runs[20], "SELECT details FROM decisions WHERE details LIKE '%position_limit%'")]
    assert why, "the quoter never had to stop a side at the cap"


def test_two_quotes_per_cycle_make_numbered_decision_records(runs: dict[int, Path]) -> None:
    ids = [r[0] for r in rows(runs[0], "SELECT decision_id FROM decisions WHERE cycle_id = 1 ORDER BY decision_id")]
    assert len(ids) == 2 and ids[1] == ids[0] + ":2"


def test_mean_reversion_trades_in_and_out_of_a_position(walk: tuple[Path, Path]) -> None:
    params = {"ema_cycles": 10, "warmup_cycles": 10, "entry_bps": 15, "exit_bps": 2, "order_notional": 120}
    db = backtest(*walk, "mr", "", "mean_reversion", params)
    fills = rows(db, "SELECT side, quantity, price FROM fills ORDER BY ts, trade_id")
    sides = [f[0] for f in fills]
    assert sides.count("buy") >= 2 and sides.count("sell") >= 2
    position, peak = Decimal(0), Decimal(0)
    for side, qty, _ in fills:
        position += qty if side == "buy" else -qty
        assert position >= 0  # long only: it never sells what it has not bought
        peak = max(peak, position)
    assert peak * max(f[2] for f in fills) <= 2 * 121  # at most one entry at a time (a fill may be partial)
    codes = Counter(r[0] for r in rows(db, "SELECT reason_code FROM decisions"))
    assert codes[rc.STRATEGY_NO_INTENT] > 0 and codes[rc.ORDER_SUBMITTED] == sides.count("buy") + sides.count("sell")
