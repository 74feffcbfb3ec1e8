"""Moving the flush and the span export into the quiet window loses nothing: every cycle's spans are in the trace
sink and every cycle's rows are in the DB by the time ``run_session`` returns, also when a stop arrives mid-run.

Real telemetry (the SDK, the JSON-lines sink), the real StateStore, the in-memory venue. Nothing is flushed by the
test before it looks: what it reads is what a crash right after the run's return would have left behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from btcbot.arming import ArmingGate
from btcbot.domain.clock import SystemClock
from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, run_session
from btcbot.settings import Settings
from btcbot.storage import StateStore
from btcbot.strategies.canary import CanaryStrategy
from btcbot.telemetry.setup import configure_telemetry
from btcbot.telemetry.sink import sink_path
from btcbot.telemetry.waterfall import read_sink
from btcbot.testing.runtime_fakes import FakeVenue

ARMED: dict[str, Any] = {
    "live_trading": True,
    "live_trading_ack": "I_UNDERSTAND",
    "dry_run": False,
    "kill_switch": False,
    "safe_mode": False,
    "btcturk_api_key": "k",
    "btcturk_api_secret": "cw==",
}
SYMBOLS = ("BTCTRY", "ETHTRY")
STEP_SPANS = {"feed", "freshness_guard", "strategy", "risk_gate", "order_submit", "reconcile", "db_flush"}


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    s = Settings(
        **ARMED,
        state_db_path=tmp_path / "state.db",
        universe_symbols=",".join(SYMBOLS),
        ttl_seconds=3600,
        reconcile_min_interval_ms=0,
        max_orders_per_cycle=len(SYMBOLS),
        notional_cap_try_per_cycle=Decimal(150) * len(SYMBOLS),
        trace_sink_enabled=True,
    )
    handle = configure_telemetry(s, run_id="nothing-lost")
    yield s
    handle.shutdown()


def _run(settings: Settings, options: RuntimeOptions, stop_on_cycle: int | None = None) -> int:
    venue = FakeVenue(SystemClock(), mids={"BTCTRY": Decimal(2_000_000), "ETHTRY": Decimal(100_000)})
    store = StateStore(settings.state_db_path)
    store.migrate()
    deps = RuntimeDeps(
        settings=settings,
        gate=ArmingGate.from_settings(settings),
        clock=SystemClock(),
        market_data=venue,
        reader=venue,
        gateway=venue,
        store=store,
        strategy=CanaryStrategy.from_params(notional_try=Decimal(150), offset_bps=settings.canary_offset_bps),
    )
    submit = venue.submit_order

    def submit_and_fill(intent: Any, token: Any) -> Any:
        ack = submit(intent, token)
        venue.fill(ack.exchange_order_id)  # filled at once, so the canary places again every cycle
        return ack

    venue.submit_order = submit_and_fill  # type: ignore[method-assign]
    if stop_on_cycle is not None:
        snapshot = venue.snapshot
        seen = Counter[str]()

        def snapshot_then_stop(symbol: str) -> Any:
            seen[symbol] += 1
            if seen[symbol] == stop_on_cycle:
                deps.stop.graceful.set()  # arrives while this cycle runs: it completes, no other starts
            return snapshot(symbol)

        venue.snapshot = snapshot_then_stop  # type: ignore[method-assign]
    result = run_session(options, deps)
    # Deliberately no store.close() (its final flush) and no telemetry flush before looking.
    return result.summary.cycles


def _db(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(settings.state_db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _check_everything_arrived(settings: Settings, cycles: int) -> None:
    spans = read_sink(sink_path(settings.state_dir))
    roots = [s for s in spans if s.name == "cycle"]
    assert sorted(s.attributes["btcbot.cycle_id"] for s in roots) == list(range(1, cycles + 1))
    by_trace: dict[str, set[str]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, set()).add(s.name)
    for root in roots:
        assert by_trace[root.trace_id] >= STEP_SPANS, f"cycle {root.attributes['btcbot.cycle_id']} lost spans"
    assert len({s.span_id for s in spans}) == len(spans)  # and none twice

    assert _db(settings, "SELECT cycle_id FROM cycles ORDER BY cycle_id") == [(c,) for c in range(1, cycles + 1)]
    decisions = _db(settings, "SELECT cycle_id, symbol, reason_code FROM decisions ORDER BY cycle_id, symbol")
    assert [(c, s) for c, s, _ in decisions] == [(c, s) for c in range(1, cycles + 1) for s in sorted(SYMBOLS)]
    assert {code for _, _, code in decisions} == {"order:submitted"}
    orders = _db(settings, "SELECT count(*), count(DISTINCT cycle_id) FROM orders")
    assert orders == [(cycles * len(SYMBOLS), cycles)]


def test_every_span_and_row_of_every_cycle_arrives(settings: Settings) -> None:
    cycles = _run(settings, RuntimeOptions(max_cycles=6, cycle_seconds=0.0))
    assert cycles == 6
    _check_everything_arrived(settings, 6)


def test_a_stop_right_after_a_cycle_loses_nothing(settings: Settings) -> None:
    cycles = _run(settings, RuntimeOptions(max_cycles=50, cycle_seconds=0.0), stop_on_cycle=4)
    assert cycles == 4
    _check_everything_arrived(settings, 4)
