"""METRICS_PORT: Prometheus scrapes /metrics while a loop runs against the simulator, and what it reads parses with
the official client parser, under the runbook's exact names, with every symbol's counters there from the start."""

from __future__ import annotations

import socket
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from btcbot.errors import ConfigError
from btcbot.settings import Settings
from btcbot.telemetry.setup import configure_telemetry

SYMBOLS = ("BTCTRY", "ETHTRY")
SYMBOL_COUNTERS = (
    "invalid_best_bid_count",
    "stale_market_data_blocks",
    "orders_submitted",
    "orders_rejected",
    "orders_filled",
    "orders_cancelled",
    "orders_unknown",
)


def _scrape(port: int) -> dict[str, Any]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {family.name: family for family in text_string_to_metric_families(text)}


def _samples(family: Any, suffix: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    """Sample value by its labels (without the OpenTelemetry scope labels), for samples named name+suffix."""
    return {
        tuple(sorted((k, v) for k, v in s.labels.items() if not k.startswith("otel_"))): s.value
        for s in family.samples
        if s.name == family.name + suffix
    }


def test_scrape_during_a_loop_against_the_simulator(tmp_path: Path) -> None:
    from btcbot.arming import ArmingGate
    from btcbot.domain.clock import SystemClock
    from btcbot.exchange.btcturk import BtcturkExchange, build_market_data
    from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, run_session
    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator
    from btcbot.storage import StateStore
    from btcbot.strategies.canary import CanaryStrategy

    with Simulator(seed=3, symbols=SYMBOLS, market_tick_ms=100) as sim:
        settings = Settings(
            state_db_path=tmp_path / "state.db",
            btcturk_base_url=sim.rest_url,
            btcturk_ws_url=sim.ws_url,
            btcturk_api_key=DEMO_API_KEY,
            btcturk_api_secret=DEMO_API_SECRET,
            universe_symbols=",".join(SYMBOLS),
            kill_switch=False,  # observe mode (DRY_RUN=true): would-submit records, nothing sent
            trace_sink_enabled=False,
            reconcile_min_interval_ms=0,
            metrics_port=0,
        )
        handle = configure_telemetry(settings, run_id="prom")
        exchange = BtcturkExchange.from_settings(settings)
        store = StateStore(settings.state_db_path)
        store.migrate()
        deps = RuntimeDeps(
            settings=settings,
            gate=ArmingGate.from_settings(settings),
            clock=SystemClock(),
            market_data=build_market_data(settings, exchange.http),
            reader=exchange,
            gateway=exchange,
            store=store,
            strategy=CanaryStrategy.from_params(notional_try=Decimal(150), offset_bps=settings.canary_offset_bps),
        )
        loop = threading.Thread(
            target=run_session, args=(RuntimeOptions(max_cycles=None, cycle_seconds=0.05), deps), daemon=True
        )
        port = handle.metrics_port
        assert port is not None and port > 0
        families: dict[str, Any] = {}
        loop.start()
        try:
            first: dict[str, Any] = {}
            pause = threading.Event()
            for _ in range(600):  # scrape while the loop goes on, until two cycles are in (bounded: ~30 s)
                families = _scrape(port)
                durations = families.get("cycle_duration_ms")
                cycles = _samples(durations, "_count").get((), 0) if durations else 0
                first = first or (families if cycles >= 1 else {})
                if cycles >= 2:
                    break
                pause.wait(0.05)
            assert loop.is_alive(), "the scrape must happen during the loop"
        finally:
            deps.stop.graceful.set()
            loop.join(timeout=30)
            store.close()
            exchange.close()
            handle.shutdown()
        assert not loop.is_alive()

    assert _samples(families["cycle_duration_ms"], "_count")[()] >= 2
    # From the first cycle on, every symbol's counters are exported, at 0 where nothing happened.
    for name in SYMBOL_COUNTERS:
        assert _samples(first[name], "_total") == {(("symbol", s),): 0.0 for s in SYMBOLS}, name
    for name in ("invalid_best_bid_count", "orders_submitted", "orders_rejected", "orders_unknown"):
        assert _samples(families[name], "_total") == {(("symbol", s),): 0.0 for s in SYMBOLS}, name
    assert set(_samples(families["stale_market_data_blocks"], "_total")) == {(("symbol", s),) for s in SYMBOLS}
    # Observe mode records the decision path up to the would-submit under the runbook's histogram.
    latency = _samples(families["order_submit_latency_ms"], "_count")
    assert latency[(("mode", "observe"),)] >= 2  # one would-submit a cycle (MAX_ORDERS_PER_CYCLE=1)
    assert (("mode", "live"),) not in latency
    rate = _samples(families["stale_market_data_rate"])
    assert set(rate) == {(("symbol", s),) for s in SYMBOLS} and all(0.0 <= v <= 1.0 for v in rate.values())
    assert set(_samples(families["market_data_age_ms"], "_count")) == {(("symbol", s),) for s in SYMBOLS}
    assert _samples(families["reconcile_lag_ms"], "_count")[()] >= 1


def test_unset_port_serves_nothing_and_a_busy_port_is_refused(tmp_path: Path) -> None:
    handle = configure_telemetry(Settings(state_db_path=tmp_path / "s.db"))
    try:
        assert handle.metrics_port is None
    finally:
        handle.shutdown()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"METRICS_PORT {port}"):
            configure_telemetry(Settings(state_db_path=tmp_path / "s.db", metrics_port=port))
    served = configure_telemetry(Settings(state_db_path=tmp_path / "s.db", metrics_port=0))
    port = served.metrics_port
    assert port is not None
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    served.shutdown()
    with pytest.raises(requests.ConnectionError):  # closed with its handle
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
