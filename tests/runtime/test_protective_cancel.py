"""The kill switch's protective cancel reaches only orders of this scope that this bot's ledger holds: never
another scope's order in a shared DB, never a venue order that merely carries this scope's prefix."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from btcbot import reason_codes as rc
from btcbot.arming import ArmingGate
from btcbot.domain.clock import SystemClock
from btcbot.domain.orders import client_order_id
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
    "btcturk_api_secret": "cw==",
    "ttl_seconds": 60,
    "reconcile_min_interval_ms": 0,
}
ONE_CYCLE_NO_STOP_CANCEL = RuntimeOptions(max_cycles=1, cancel_on_exit=False)


def _deps(tmp_path: Path, venue: FakeVenue, store: StateStore, **overrides: Any) -> RuntimeDeps:
    settings = Settings(**{**ARMED, "state_db_path": tmp_path / "s.db", **overrides})
    return RuntimeDeps(
        settings=settings,
        gate=ArmingGate.from_settings(settings),
        clock=venue.clock,
        market_data=venue,
        reader=venue,
        gateway=venue,
        store=store,
        strategy=CanaryStrategy.from_params(notional_try=Decimal(150), offset_bps=settings.canary_offset_bps),
    )


def _decisions(store: StateStore, run_id: str) -> list[str]:
    return [r[0] for r in store.query("SELECT reason_code FROM decisions WHERE run_id = ?", [run_id])]


def test_kill_switch_never_cancels_another_scopes_order_in_a_shared_db(tmp_path: Path) -> None:
    venue = FakeVenue(SystemClock())
    store = StateStore(tmp_path / "s.db")
    alpha = _deps(tmp_path, venue, store, account_scope="alpha")
    run_session(ONE_CYCLE_NO_STOP_CANCEL, alpha)
    assert venue.write_attempts == ["submit"]
    assert store.query("SELECT status FROM orders") == [("OPEN",)]  # alpha's order, live in the shared DB

    beta = _deps(tmp_path, venue, store, account_scope="beta", kill_switch=True)
    result = run_session(ONE_CYCLE_NO_STOP_CANCEL, beta)
    assert result.exit_code == 0
    assert venue.write_attempts == ["submit"]  # no cancel of alpha's order
    assert _decisions(store, beta.run_id) == [rc.KILL_SWITCH_IDLE]

    alpha_again = _deps(tmp_path, venue, store, account_scope="alpha", kill_switch=True)
    run_session(ONE_CYCLE_NO_STOP_CANCEL, alpha_again)
    assert venue.write_attempts == ["submit", "cancel"]  # its own scope's kill switch does cancel it
    assert _decisions(store, alpha_again.run_id) == [rc.KILL_SWITCH_CANCEL]


def test_kill_switch_never_cancels_a_venue_order_its_ledger_does_not_hold(tmp_path: Path) -> None:
    venue = FakeVenue(SystemClock())
    store = StateStore(tmp_path / "s.db")
    deps = _deps(tmp_path, venue, store, account_scope="alpha", kill_switch=True)
    # Carries this scope's prefix, but this bot never recorded it.
    stray = venue.place_foreign("BTCTRY", client_order_id("alpha", "not-ours"), Decimal(1_000_000), Decimal("0.001"))
    run_session(RuntimeOptions(max_cycles=2, cycle_seconds=0.01), deps)  # the stop's cancel-all included
    assert venue.write_attempts == []
    assert venue.orders[stray.exchange_order_id].status.value == "Untouched"
    # Not adopted (this DB never placed it: another instance's, see btcbot.runtime.foreign_orders), but recorded
    # and alerted on, so the operator is told an order of this scope is open while the kill switch is on.
    assert store.query("SELECT count(*) FROM orders WHERE client_order_id = ?", [stray.client_order_id]) == [(0,)]
    assert ("foreign_orders", rc.LOCK_FOREIGN_ORDERS) in store.query("SELECT kind, reason_code FROM alerts")
    assert sorted(_decisions(store, deps.run_id)) == sorted([rc.LOCK_FOREIGN_ORDERS, *[rc.KILL_SWITCH_IDLE] * 2])
