"""Shared helpers for the runtime tests: a simulator over loopback and a session wired to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from btcbot.arming import ArmingGate, WriteToken
from btcbot.domain.clock import Clock, SystemClock, VirtualClock
from btcbot.domain.orders import OrderIntent, SubmitAck, VenueOrder
from btcbot.exchange.btcturk import BtcturkExchange, BtcturkHttp, build_market_data
from btcbot.exchange.btcturk.limiter import RateLimiter
from btcbot.exchange.btcturk.rest_md import RestMarketData
from btcbot.exchange.retry import RetryPolicy
from btcbot.runtime.session import RunResult, RuntimeDeps, RuntimeOptions, StopControl, run_session
from btcbot.runtime.strategy import AnyStrategy
from btcbot.settings import Settings
from btcbot.sim import Simulator
from btcbot.storage import StateStore
from btcbot.strategies.canary import CanaryStrategy

ARMED: dict[str, Any] = {
    "live_trading": True,
    "live_trading_ack": "I_UNDERSTAND",
    "dry_run": False,
    "kill_switch": False,
    "safe_mode": False,
}
WRITE_PATH = "/api/v1/order"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # A still market (moved only where a test says so): a resting order never fills by chance, however many
    # ticks a loaded machine would have let pass. The book is stamped with the venue's current time all the same.
    with Simulator(seed=7, market_tick_ms=0) as s:
        yield s


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock(start_ms=time.time_ns() // 1_000_000)


@pytest.fixture
def vsim(vclock: VirtualClock) -> Iterator[Simulator]:
    """A simulator on the test's virtual clock: its timestamps (and auth window) move only with the session's waits."""
    with Simulator(seed=7, market_tick_ms=0, clock=vclock) as s:
        yield s


def virtual_http(settings: Settings, clock: VirtualClock, read_timeout_s: float) -> BtcturkHttp:
    """The real client, with its signer, retry backoff and rate limiter on ``clock``: waits advance it, never sleep."""

    def advance(seconds: float) -> None:
        clock.advance_ms(seconds * 1000)

    return BtcturkHttp.from_settings(
        settings,
        read_timeout_s=read_timeout_s,
        now_ms=clock.wall_ms,
        retry=RetryPolicy(sleep=advance),
        limiter=RateLimiter(monotonic=lambda: clock.monotonic_ns() / 1e9, sleep=advance),
    )


def sim_settings(sim: Simulator, tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "btcturk_base_url": sim.rest_url,
        "btcturk_ws_url": sim.ws_url,
        "btcturk_api_key": sim.api_key,
        "btcturk_api_secret": sim.api_secret,
        "state_db_path": tmp_path / "state.db",
        "ttl_seconds": 1,
        "reconcile_min_interval_ms": 0,
        "trace_sink_enabled": False,
        "max_market_data_age_ms": 3000,
    }
    base.update(overrides)
    return Settings(**base)


def write_requests(sim: Simulator) -> list[dict[str, Any]]:
    """Every order write (submit/cancel) the simulator saw, answered or not."""
    log = requests.get(f"{sim.rest_url}/sim/requests", timeout=5).json()
    return [r for r in log if r["path"].startswith(WRITE_PATH) and r["method"] in ("POST", "DELETE")]


def set_faults(sim: Simulator, **faults: Any) -> None:
    requests.post(f"{sim.rest_url}/sim/faults", json=faults, timeout=5).raise_for_status()


@dataclass
class SessionRun:
    result: RunResult
    store: StateStore
    gate: ArmingGate

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.store.query(sql, params or [])


class _SubmitsElsewhere:
    """The order gateway, except that submits go through ``submits`` (a client with its own read timeout)."""

    def __init__(self, gateway: BtcturkExchange, submits: BtcturkExchange) -> None:
        self._gateway = gateway
        self._submits = submits

    def submit_order(self, intent: OrderIntent, token: WriteToken) -> SubmitAck:
        return self._submits.submit_order(intent, token)

    def cancel_order(self, exchange_order_id: int, token: WriteToken) -> None:
        self._gateway.cancel_order(exchange_order_id, token)

    def close(self) -> None:
        self._submits.close()


def run_against(
    sim: Simulator,
    settings: Settings,
    options: RuntimeOptions,
    *,
    strategy: AnyStrategy | None = None,
    cli_dry_run: bool = False,
    read_timeout_s: float = 10.0,
    submit_timeout_s: float | None = None,
    reader_wrapper: Any = None,
    gateway_wrapper: Any = None,
    gateway_base_url: str | None = None,
    clock: VirtualClock | None = None,
    stop: StopControl | None = None,
) -> SessionRun:
    """One session against the simulator over real HTTP (and WS when MARKET_DATA_MODE=ws).

    ``gateway_wrapper`` wraps the order gateway (submits and cancels), as ``reader_wrapper`` wraps the reader.

    ``gateway_base_url`` sends the order writes elsewhere (e.g. a port nothing listens on) while reads and
    market data still come from the simulator.

    ``submit_timeout_s`` is how long a submit waits for its answer (one the simulator drops costs this much).
    Every other request keeps ``read_timeout_s``, far above what a loaded machine needs, so only the dropped
    answer ever times out.

    With ``clock`` (the simulator's own, see ``vsim``) everything runs on virtual time over REST market data.
    """
    gate = ArmingGate.from_settings(settings, cli_dry_run=cli_dry_run)
    store = StateStore(settings.state_db_path)
    store.migrate()
    session_clock: Clock = clock or SystemClock()

    def client(timeout_s: float) -> BtcturkHttp:
        if clock is not None:
            return virtual_http(settings, clock, timeout_s)
        return BtcturkHttp.from_settings(settings, read_timeout_s=timeout_s)

    http = client(read_timeout_s)
    md: Any = (
        RestMarketData(http, settings.universe_symbols, clock=clock)
        if clock is not None
        else build_market_data(settings, http)
    )
    exchange = BtcturkExchange(http, owns_http=True)
    reader = reader_wrapper(exchange) if reader_wrapper else exchange
    gateway: Any = exchange
    if submit_timeout_s is not None:
        gateway = _SubmitsElsewhere(exchange, BtcturkExchange(client(submit_timeout_s), owns_http=True))
    elif gateway_base_url is not None:
        writes = BtcturkHttp(
            gateway_base_url,
            api_key=settings.btcturk_api_key,
            api_secret=settings.btcturk_api_secret,
            read_timeout_s=read_timeout_s,
        )
        gateway = BtcturkExchange(writes, owns_http=True)
    if gateway_wrapper is not None:
        gateway = gateway_wrapper(gateway)
    strategy = strategy or CanaryStrategy.from_params(notional_try=Decimal(150), offset_bps=settings.canary_offset_bps)
    deps = RuntimeDeps(
        settings=settings,
        gate=gate,
        clock=session_clock,
        market_data=md,
        reader=reader,
        gateway=gateway,
        store=store,
        strategy=strategy,
        stop=stop or StopControl(),
        venue_429s=lambda: http.limiter.venue_429s,
    )
    try:
        result = run_session(options, deps)
    finally:
        exchange.close()
        gateway.close()
    return SessionRun(result, store, gate)


def no_actor_threads() -> bool:
    return not [t for t in threading.enumerate() if "Actor" in t.name and t.is_alive()]


class Harness:
    """The helpers above bound to one simulator and one tmp dir (tests import nothing from conftest)."""

    ARMED = ARMED

    def __init__(self, sim: Simulator, tmp_path: Path, clock: VirtualClock | None = None) -> None:
        self.sim = sim
        self.tmp_path = tmp_path
        self.clock = clock  # set: the simulator and every session run on this virtual clock

    def settings(self, **overrides: Any) -> Settings:
        return sim_settings(self.sim, self.tmp_path, **overrides)

    def armed(self, **overrides: Any) -> Settings:
        return sim_settings(self.sim, self.tmp_path, **{**ARMED, **overrides})

    def run(self, settings: Settings, options: RuntimeOptions, **kwargs: Any) -> SessionRun:
        return run_against(self.sim, settings, options, clock=self.clock, **kwargs)

    def http(self, settings: Settings, read_timeout_s: float = 10.0) -> BtcturkHttp:
        if self.clock is not None:
            return virtual_http(settings, self.clock, read_timeout_s)
        return BtcturkHttp.from_settings(settings, read_timeout_s=read_timeout_s)

    def writes(self) -> list[dict[str, Any]]:
        return write_requests(self.sim)

    def faults(self, **faults: Any) -> None:
        set_faults(self.sim, **faults)

    def venue_orders(self, settings: Settings, symbol: str = "BTCTRY") -> list[VenueOrder]:
        ex = BtcturkExchange(self.http(settings), owns_http=True)  # signed on the simulator's clock
        try:
            return ex.all_orders(symbol, start_ms=0)
        finally:
            ex.close()

    @staticmethod
    def no_actor_threads() -> bool:
        return no_actor_threads()


@pytest.fixture
def harness(sim: Simulator, tmp_path: Path) -> Harness:
    return Harness(sim, tmp_path)


@pytest.fixture
def vharness(vsim: Simulator, tmp_path: Path, vclock: VirtualClock) -> Harness:
    """The harness on virtual time: the simulator, the client and the session share ``vclock``."""
    return Harness(vsim, tmp_path, vclock)
