"""The session's per-cycle view (``on_cycle``) and the update-to-order figure, on the in-memory venue.

A ``VirtualClock`` stands still while a cycle runs, so the update-to-order figure is exactly the age the fake
venue gives its books: the test can say what it must be, in both live and observe mode.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btcbot import reason_codes as rc
from btcbot.actors._base import FaultPlan
from btcbot.actors.orders import with_update_to_order
from btcbot.arming import ArmingGate
from btcbot.domain.clock import VirtualClock
from btcbot.runtime.cycle import CycleStats, SymbolOutcome
from btcbot.runtime.cycle_view import CycleFacts, CycleView, build_cycle_view
from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, run_session
from btcbot.settings import Settings
from btcbot.storage import StateStore
from btcbot.strategies.canary import CanaryStrategy
from btcbot.testing.runtime_fakes import FakeVenue

ARMED: dict[str, Any] = {
    "live_trading": True,
    "live_trading_ack": "I_UNDERSTAND",
    "dry_run": False,
    "kill_switch": False,
    "safe_mode": False,
    "btcturk_api_key": "k",
    "btcturk_api_secret": "cw==",  # base64, as BTCTurk secrets are
}
BOOK_AGE_MS = 250


def session(tmp_path: Path, *, armed: bool, **overrides: Any) -> tuple[RuntimeDeps, FakeVenue, list[CycleView]]:
    gates = ARMED if armed else {"kill_switch": False, "safe_mode": False}
    settings = Settings(
        **{**gates, "state_db_path": tmp_path / "s.db", "ttl_seconds": 60, "reconcile_min_interval_ms": 0, **overrides}
    )
    clock = VirtualClock()
    venue = FakeVenue(clock)
    venue.faults.stale_ms = BOOK_AGE_MS  # fresh enough (MAX_MARKET_DATA_AGE_MS is 3000), and a known age
    views: list[CycleView] = []
    deps = RuntimeDeps(
        settings=settings,
        gate=ArmingGate.from_settings(settings),
        clock=clock,
        market_data=venue,
        reader=venue,
        gateway=venue,
        store=StateStore(settings.state_db_path),
        strategy=CanaryStrategy.from_params(notional_try=Decimal(150), offset_bps=settings.canary_offset_bps),
        on_cycle=views.append,
    )
    return deps, venue, views


def cycles_table(deps: RuntimeDeps) -> list[tuple[Any, ...]]:
    return deps.store.query("SELECT cycle_id, update_to_order_ms, reconcile_lag_ms FROM cycles ORDER BY cycle_id")


def test_live_update_to_order_is_the_book_age_when_the_order_leaves(tmp_path: Path) -> None:
    deps, venue, views = session(tmp_path, armed=True)
    result = run_session(RuntimeOptions(max_cycles=3, cycle_seconds=1.0), deps)
    assert result.exit_code == 0 and venue.write_attempts == ["submit", "cancel"]  # the cancel: at the stop
    assert [v.cycle_id for v in views] == [1, 2, 3]
    # Cycle 1 sends the order; the next two find it resting (TTL 60 s) and send nothing.
    assert [v.update_to_order_ms for v in views] == [BOOK_AGE_MS, None, None]
    assert [r[:2] for r in cycles_table(deps)] == [(1, BOOK_AGE_MS), (2, None), (3, None)]
    assert all(v.mode == "live" and v.safe_mode == "off" for v in views)
    assert [v.open_orders for v in views] == [1, 1, 1]
    assert views[0].order_submit_latency_ms is not None and views[1].order_submit_latency_ms is None
    assert [v.symbols[0].reason_code for v in views] == [rc.ORDER_SUBMITTED] + [rc.STRATEGY_ORDER_ACTIVE] * 2
    assert [v.remaining_s for v in views] == [2.0, 1.0, 0.0]
    # The reconciler's lag reaches the view and the cycles table alike.
    assert [v.reconcile_lag_ms for v in views] == [r[2] for r in cycles_table(deps)]


def test_observe_update_to_order_is_measured_at_the_would_submit_decision(tmp_path: Path) -> None:
    deps, venue, views = session(tmp_path, armed=False)
    result = run_session(RuntimeOptions(max_cycles=3, cycle_seconds=1.0), deps)
    assert result.exit_code == 0 and venue.write_attempts == []
    assert [v.symbols[0].reason_code for v in views] == [rc.DRY_RUN_WOULD_SUBMIT] * 3
    assert [v.update_to_order_ms for v in views] == [BOOK_AGE_MS] * 3
    assert [r[1] for r in cycles_table(deps)] == [BOOK_AGE_MS] * 3
    assert all(v.mode == "observe" and v.safe_mode == "off" and v.open_orders == 0 for v in views)


def test_the_first_order_of_a_cycle_sets_the_figure() -> None:
    stats = with_update_to_order(CycleStats(), now_ns=5_000_000, received_ns=2_000_000)
    assert stats.update_to_order_ms == 3.0
    assert with_update_to_order(stats, now_ns=9_000_000, received_ns=2_000_000).update_to_order_ms == 3.0
    assert with_update_to_order(CycleStats(), now_ns=5_000_000, received_ns=None).update_to_order_ms is None


def test_an_aborted_cycle_is_shown_too(tmp_path: Path) -> None:
    deps, _, views = session(tmp_path, armed=False, actor_restart_budget=3)
    result = run_session(
        RuntimeOptions(max_cycles=3, cycle_seconds=1.0, fault=FaultPlan(actor="risk_gate", times=1)), deps
    )
    assert result.summary.cycles == 3 and [v.cycle_id for v in views] == [1, 2, 3]
    aborted = views[0]
    assert [s.reason_code for s in aborted.symbols] == [rc.SUPERVISOR_CYCLE_ABORTED]
    assert aborted.cycle_ms is None and aborted.update_to_order_ms is None
    assert aborted.safe_mode.startswith("latched:")  # an actor failure latches safe mode
    assert views[2].cycle_ms is not None


def test_a_failing_display_never_stops_the_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    deps, venue, _ = session(tmp_path, armed=True)
    calls: list[int] = []

    def broken(view: CycleView) -> None:
        calls.append(view.cycle_id)
        raise RuntimeError("display broke")

    deps.on_cycle = broken
    with caplog.at_level(logging.WARNING, logger="btcbot.runtime.session"):
        result = run_session(RuntimeOptions(max_cycles=3, cycle_seconds=1.0), deps)
    assert result.exit_code == 0 and result.summary.cycles == 3 and calls == [1, 2, 3]
    assert venue.write_attempts == ["submit", "cancel"]
    assert "per-cycle display failed" in caplog.text


def _facts(outcomes: tuple[SymbolOutcome, ...] | None, cycle_id: int = 2) -> CycleFacts:
    return CycleFacts(cycle_id, outcomes, CycleStats(submit_latencies_ms=(3.0, 9.0)), 12.0, ())


def _build(facts: CycleFacts, **kw: Any) -> CycleView:
    args: dict[str, Any] = {
        "command": "run",
        "symbols": ("BTCTRY", "ETHTRY"),
        "max_cycles": 5,
        "cycle_seconds": 10.0,
        "live": False,
        "safe_mode_setting": True,
        "safe_mode_cause": None,
        "elapsed_s": 12.0,
    }
    return build_cycle_view(facts, **{**args, **kw})


def test_the_view_names_each_symbol_the_safety_state_and_what_is_left() -> None:
    outcomes = (
        SymbolOutcome("ETHTRY", "block", rc.MARKET_DATA_STALE, market_data_age_ms=4000.0),
        SymbolOutcome("BTCTRY", "would_submit", rc.DRY_RUN_WOULD_SUBMIT, market_data_age_ms=80.0),
    )
    v = _build(_facts(outcomes))
    assert [(s.symbol, s.reason_code, s.market_data_age_ms) for s in v.symbols] == [
        ("BTCTRY", rc.DRY_RUN_WOULD_SUBMIT, 80.0),
        ("ETHTRY", rc.MARKET_DATA_STALE, 4000.0),
    ]
    assert v.safe_mode == "on" and v.mode == "observe"
    assert v.order_submit_latency_ms == 9.0  # the cycle's slowest submit
    assert v.remaining_s == 30.0
    assert _build(_facts(outcomes), safe_mode_cause="stale_data").safe_mode == "latched:stale_data"
    assert _build(_facts(outcomes), safe_mode_setting=False, live=True).safe_mode == "off"
    assert _build(_facts(outcomes), max_cycles=None).remaining_s is None
    aborted = _build(_facts(None))
    assert [s.reason_code for s in aborted.symbols] == [rc.SUPERVISOR_CYCLE_ABORTED] * 2
