"""Replay = the real runtime (``run_session``) with a dataset feed, the in-process venue and a virtual clock.

Nothing here decides anything: the same actors, freshness guard, strategy, risk gate and order manager as a
live run make every decision and write every record. Replay only swaps the three edges (market data, venue,
time) and arms the runtime, which is safe because the only venue it can reach is in-process.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from btcbot.domain.clock import VirtualClock
from btcbot.errors import UsageError
from btcbot.replay.accounting import Accounting, account
from btcbot.replay.clock import PacedClock
from btcbot.replay.dataset import DatasetError, DatasetReader, resolve_dataset
from btcbot.replay.feed import DatasetFeed
from btcbot.replay.market import RecordedMarket
from btcbot.replay.rules import rules_from_header
from btcbot.replay.summary import build_summary
from btcbot.replay.venue import InProcessVenue, assert_in_process
from btcbot.settings import Settings, load_settings

REPLAY_COMMANDS = ("replay", "backtest")
# Replay is armed: it can only ever reach the in-process venue, and these URLs make sure nothing else could.
IN_PROCESS_URL = "https://inprocess.invalid"
_ARMED = {
    "safe_mode": False,
    "dry_run": False,
    "kill_switch": False,
    "live_trading": True,
    "live_trading_ack": "I_UNDERSTAND",
    "btcturk_api_key": "replay-in-process",
    "btcturk_api_secret": "cmVwbGF5LWluLXByb2Nlc3M=",  # base64 of "replay-in-process", as secrets must be
    "btcturk_base_url": IN_PROCESS_URL,
    "btcturk_ws_url": "wss://inprocess.invalid",
    "trace_sink_enabled": False,
}


@dataclass(slots=True)
class ReplayResult:
    run_id: str
    command: str
    exit_code: int
    dataset: Path
    db: Path
    events: int
    cycles: int
    wall_s: float
    first_ms: int
    last_ms: int
    venue: InProcessVenue
    runtime: Any = None
    strategy: str = ""  # LoadedStrategy.describe(): name, target and effective parameters

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s > 0 else 0.0

    def line(self) -> str:
        return (
            f"replay {self.run_id}: {self.events} events, {self.cycles} cycles, "
            f"{(self.last_ms - self.first_ms) / 1000:.1f} s virtual in {self.wall_s:.2f} s wall "
            f"({self.events_per_s:,.0f} events/s); records in {self.db} (exit {self.exit_code})"
        )

    def accounting(self) -> Accounting:
        """Positions, PnL, fees and the equity curve from this run's fills at the recorded mids."""
        pairs = {symbol: (r.numerator, r.denominator) for symbol, r in self.venue.rules.items()}
        return account(self.venue.backtest_fills(), self.venue.mark_samples, pairs)

    def summary(self, acc: Accounting | None = None) -> dict[str, Any]:
        from btcbot.storage import open_reader

        with open_reader(self.db) as con:
            decisions = con.execute(
                "SELECT action, reason_code FROM decisions WHERE run_id = ? ORDER BY ts, decision_id", [self.run_id]
            ).fetchall()
            orders = con.execute(
                "SELECT status, quantity, filled_quantity FROM orders WHERE run_id = ?", [self.run_id]
            ).fetchall()
            latencies = [
                float(r[0])
                for r in con.execute(
                    "SELECT submit_latency_ms FROM orders WHERE run_id = ? AND submit_latency_ms IS NOT NULL",
                    [self.run_id],
                ).fetchall()
            ]
        return {"strategy": self.strategy} | build_summary(
            run_id=self.run_id,
            dataset=str(self.dataset),
            events=self.events,
            wall_s=self.wall_s,
            virtual_span_ms=self.last_ms - self.first_ms,
            cycles=self.cycles,
            latency_ms=self.venue.latency_ms,
            decisions=[(str(a), str(r)) for a, r in decisions],
            orders=[(str(s), Decimal(q), Decimal(f)) for s, q, f in orders],
            latencies_ms=latencies,
            acc=acc if acc is not None else self.accounting(),
            start_balances=self.venue.start_balances,
            end_balances=self.venue.account_totals(),
            calls=self.venue.calls,
        )


def default_db(settings: Settings, command: str) -> Path:
    return settings.state_dir / f"{command}.db"


def prepare_replay_db(path: Path) -> None:
    """A replay DB is an output, rebuilt each time; a DB with any non-replay run is never touched."""
    if not path.exists():
        return
    from btcbot.storage import open_reader

    try:
        with open_reader(path) as con:
            rows = con.execute("SELECT DISTINCT command FROM runs").fetchall()
            # A live run killed outright leaves no runs row, but its records carry its (non-replay) run id.
            for table in ("decisions", "orders"):
                foreign = con.execute(
                    f"SELECT count(*) FROM {table} WHERE NOT starts_with(run_id, 'replay-')"  # noqa: S608 - fixed names
                ).fetchone()
                if foreign and foreign[0]:
                    rows.append(("run",))
    except Exception as exc:  # noqa: BLE001 - any failure to read means: not ours to delete
        raise UsageError(
            f"--db {path}: exists and is not a readable btcbot replay DB ({exc.__class__.__name__}); "
            "pass a new --db path"
        ) from None
    others = sorted({str(r[0]) for r in rows} - set(REPLAY_COMMANDS))
    if others:
        raise UsageError(
            f"--db {path}: holds {', '.join(others)} runs; replay never writes into a live state DB, "
            "pass a separate --db path"
        )
    path.unlink()
    for suffix in (".wal", ".lock"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.unlink()


def replay_run_id(dataset: Path, settings: Settings, seed: int) -> str:
    """Reproducible: the same dataset bytes, settings and seed give the same run id (and client order ids)."""
    digest = hashlib.sha256()
    with dataset.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    from btcbot.settings import redacted_view

    view = redacted_view(settings)
    for key in ("STATE_DB_PATH",):
        view.pop(key, None)
    digest.update(repr(sorted(view.items())).encode())
    digest.update(str(seed).encode())
    return f"replay-{digest.hexdigest()[:12]}-s{seed}"


def replay_settings(env_file: str | None, db: Path | None, command: str) -> Settings:
    base = load_settings(env_file)
    path = db if db is not None else default_db(base, command)
    return load_settings(env_file, **_ARMED, state_db_path=path)


def open_dataset(dataset: str | None, settings: Settings) -> tuple[Path, RecordedMarket, int]:
    path = resolve_dataset(dataset)
    market = RecordedMarket(DatasetReader(path))
    missing = [s for s in settings.universe_symbols if s not in market.header.symbols]
    if missing:
        market.close()
        raise DatasetError(
            f"dataset {path}: has no {', '.join(missing)} (it holds {', '.join(market.header.symbols)}); "
            "set UNIVERSE_SYMBOLS to symbols it holds, or record them"
        )
    first = market.first_event_ms()
    if first is None:
        market.close()
        raise DatasetError(f"dataset {path}: holds no events")
    return path, market, first


@contextlib.contextmanager
def gc_tuned_for_replay() -> Iterator[None]:
    """Fewer young-generation collections while replaying, restored afterwards.

    Decoding a dataset allocates millions of short-lived lists; with CPython's default threshold (700) the
    collector runs every few hundred events and re-scans everything young, about a third of the replay's CPU.
    Objects alive before the replay are frozen out of the scans; collections still happen, just less often.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def run_replay(
    *,
    dataset: str | None,
    speed: float | None,
    db: Path | None,
    seed: int,
    env_file: str | None,
    command: str = "replay",
    strategy: str | None = None,
    strategy_config: Path | None = None,
    latency_ms: int = 0,
) -> ReplayResult:
    from btcbot.strategy_loader import load_strategy

    settings = replay_settings(env_file, db, command)
    # The strategy as `btcbot run` would build it, before anything is opened; its parameters join the run id.
    loaded = load_strategy(settings, spec=strategy, config_path=strategy_config)
    settings = loaded.into(settings)
    path, market, first_ms = open_dataset(dataset, settings)
    rules = rules_from_header(str(path), market.header.symbols, market.header.exchange_info)
    clock = VirtualClock(start_ms=first_ms) if speed is None else PacedClock(first_ms, speed)
    feed = DatasetFeed(market, clock)
    venue = InProcessVenue(market, clock, rules, latency_ms=latency_ms)
    assert_in_process(venue)
    run_id = replay_run_id(path, settings, seed)

    from btcbot.lock import InstanceLock
    from btcbot.replay.runtime_bridge import run_runtime

    # Two replays into one DB would delete each other's file; the lock is the DB's, not the account's.
    try:
        with InstanceLock.for_output_db(settings.state_db_path):
            prepare_replay_db(settings.state_db_path)
            began = time.perf_counter()
            with gc_tuned_for_replay():
                outcome = run_runtime(
                    settings=settings,
                    clock=clock,
                    feed=feed,
                    venue=venue,
                    market=market,
                    run_id=run_id,
                    command=command,
                    strategy=loaded.strategy,
                )
            wall = time.perf_counter() - began
    finally:
        market.close()
    venue.sample_marks(clock.wall_ms())
    return ReplayResult(
        run_id=run_id,
        command=command,
        exit_code=outcome.exit_code,
        dataset=path,
        db=settings.state_db_path,
        events=market.events_applied,
        cycles=outcome.cycles,
        wall_s=wall,
        first_ms=first_ms,
        last_ms=market.last_event_ms or first_ms,
        venue=venue,
        runtime=outcome.raw,
        strategy=loaded.describe(),
    )
