"""Hand replay's three edges (feed, venue, clock) to the real runtime's ``run_session``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from btcbot.arming import ArmingGate
from btcbot.domain.clock import Clock
from btcbot.errors import InvariantViolation
from btcbot.replay.feed import DatasetFeed
from btcbot.replay.market import RecordedMarket
from btcbot.replay.venue import InProcessVenue, assert_in_process
from btcbot.runtime.strategy import AnyStrategy
from btcbot.settings import Settings

# Flush the buffered rows at most this often (wall time) while replaying; always at the end. Each flush opens,
# commits and closes (checkpoints) the DuckDB file: at once a second that was a tenth of a quoting backtest's CPU.
# Ten seconds of a replay's rows (some thousand cycles) stay small in memory.
FLUSH_EVERY_S = 10.0


class BatchingStore:
    """The state store, flushed in batches across cycles instead of once (or twice) per cycle.

    A live run flushes the INTENT row before each submit and every cycle's records at its end, because a
    crash must never lose an order. Replay's venue is in-process and the run is reproducible, so that
    durability buys nothing, and a DuckDB transaction per cycle would dominate a replay's cost. The rows
    and their order are the same; they just reach the file in fewer transactions (and all of them at
    ``close``). Reads (``query``) flush first, as ``StateStore.query`` does.
    """

    def __init__(self, store: Any, every_s: float = FLUSH_EVERY_S) -> None:
        self._store = store
        self._every_s = every_s
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        self._store.insert(table, rows)

    def upsert_order(self, row: dict[str, Any]) -> None:
        self._store.upsert_order(row)

    def write_ahead(self, row: dict[str, Any]) -> None:
        # The venue is in-process and the run reproducible: no journal line is needed (see class doc).
        self._store.upsert_order(row)

    def flush(self) -> Any:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self._every_s:
                return 0
            self._last = now
        return self._store.flush()

    def flush_now(self) -> Any:
        with self._lock:
            self._last = time.monotonic()
        return self._store.flush()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._store.query(sql, params))

    def close(self) -> None:
        self._store.close()


def _configure_telemetry(settings: Settings, run_id: str) -> Callable[[], None]:
    """Telemetry as ``btcbot run`` sets it up (spans per cycle; replay keeps its spans out of the live sink)."""
    from btcbot.telemetry.logs import configure_logging
    from btcbot.telemetry.setup import configure_telemetry

    handle = configure_telemetry(settings, run_id=run_id)
    configure_logging(settings)

    def _close() -> None:
        handle.force_flush()

    return _close


@dataclass(slots=True)
class RuntimeOutcome:
    exit_code: int
    cycles: int
    raw: Any


def run_runtime(
    *,
    settings: Settings,
    clock: Clock,
    feed: DatasetFeed,
    venue: InProcessVenue,
    market: RecordedMarket,
    run_id: str,
    command: str,
    strategy: AnyStrategy,
) -> RuntimeOutcome:
    from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, StopControl, run_session
    from btcbot.storage import StateStore

    assert_in_process(venue)
    gate = ArmingGate.from_settings(settings)
    if not gate.live:
        raise InvariantViolation(
            "replay could not arm against its in-process venue: " + ",".join(gate.blocking_reasons())
        )
    stop = StopControl()
    # The dataset's end is the run's end: the cycle that consumed the last event is the last one.
    market.on_exhausted(stop.graceful.set)
    raw_store = StateStore(settings.state_db_path)
    raw_store.migrate()
    store = BatchingStore(raw_store)
    options = RuntimeOptions(
        command=command,
        max_cycles=None,
        cycle_seconds=float(settings.cycle_seconds),
        symbols=settings.universe_symbols,
        cycle_timeout_s=60.0,
    )
    deps = RuntimeDeps(
        settings=settings,
        gate=gate,
        clock=clock,
        market_data=feed,
        reader=venue,
        gateway=venue,
        store=store,
        strategy=strategy,
        run_id=run_id,
        stop=stop,
        rules={s: venue.symbol_rules(s) for s in settings.universe_symbols},
    )
    from btcbot.runtime.wiring import signals_to

    close_telemetry = _configure_telemetry(settings, run_id)
    try:
        with signals_to(stop):
            result = run_session(options, deps)
    finally:
        store.flush_now()
        store.close()
        close_telemetry()
    return RuntimeOutcome(exit_code=result.exit_code, cycles=result.summary.cycles, raw=result)
