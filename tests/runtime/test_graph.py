"""The actor graph and supervisor against the in-memory fake venue (no network): fast and deterministic."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.actors._base import FaultPlan
from btcbot.arming import ArmingGate
from btcbot.domain.clock import SystemClock, VirtualClock
from btcbot.errors import TransientError
from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, StopControl, run_session
from btcbot.settings import Settings
from btcbot.storage import StateStore
from btcbot.strategies.canary import CanaryStrategy
from btcbot.testing.runtime_fakes import FakeVenue
from btcbot.testing.waiting import WEDGED_AFTER_S, wait_until

ARMED = {
    "live_trading": True,
    "live_trading_ack": "I_UNDERSTAND",
    "dry_run": False,
    "kill_switch": False,
    "safe_mode": False,
    "btcturk_api_key": "k",
    "btcturk_api_secret": "cw==",
}


def make(tmp_path, clock=None, **overrides):
    settings = Settings(
        **{**ARMED, "state_db_path": tmp_path / "s.db", "ttl_seconds": 1, "reconcile_min_interval_ms": 0, **overrides}
    )
    clock = clock or SystemClock()
    venue = FakeVenue(clock)
    store = StateStore(settings.state_db_path)
    deps = RuntimeDeps(
        settings=settings,
        gate=ArmingGate.from_settings(settings),
        clock=clock,
        market_data=venue,
        reader=venue,
        gateway=venue,
        store=store,
        strategy=CanaryStrategy.from_params(notional_try=Decimal(150), offset_bps=settings.canary_offset_bps),
    )
    return deps, venue, store


def actor_threads():
    return [t for t in threading.enumerate() if "Actor" in t.name]


def test_restart_budget_spent_stops_the_run_non_zero(tmp_path):
    deps, venue, store = make(tmp_path, actor_restart_budget=1)
    opts = RuntimeOptions(max_cycles=10, cycle_seconds=0.01, fault=FaultPlan(actor="risk_gate", times=5))
    result = run_session(opts, deps)
    assert result.exit_code == 1
    assert 'anomaly: run_aborted why="actor restart budget spent"' in result.summary.lines()
    assert deps.gate.safe_mode_cause == "actor_failure:risk_gate"
    assert (
        store.query("SELECT count(*) FROM alerts WHERE reason_code = ?", [rc.SUPERVISOR_RESTART_BUDGET_SPENT])[0][0]
        == 1
    )
    assert venue.write_attempts == [] and not actor_threads()


def test_failure_in_on_start_is_supervised(tmp_path):
    deps, venue, store = make(tmp_path)
    result = run_session(
        RuntimeOptions(max_cycles=2, cycle_seconds=0.01, fault=FaultPlan(actor="reconciler", phase="start")), deps
    )
    assert deps.gate.safe_mode_cause == "actor_failure:reconciler"
    assert result.exit_code == 1 and venue.write_attempts == []
    codes = [r[0] for r in store.query("SELECT reason_code FROM decisions WHERE symbol = 'BTCTRY'")]
    assert codes == [rc.RISK_SAFE_MODE] * 2  # the graph recovered, and stays observe-only
    assert not actor_threads()


def test_graceful_stop_cancels_open_orders_and_leaves_no_threads(tmp_path):
    deps, venue, store = make(tmp_path, ttl_seconds=60)
    stop = StopControl()
    deps.stop = stop

    original = venue.submit_order

    def submit_then_signal(intent, token):
        ack = original(intent, token)
        stop.request()  # as SIGTERM would, mid-cycle
        return ack

    venue.submit_order = submit_then_signal  # type: ignore[method-assign]
    result = run_session(RuntimeOptions(max_cycles=None, cycle_seconds=0.01), deps)
    assert result.exit_code == 130  # interrupted, even with a clean clean-up
    assert "anomaly: interrupted signal=stop_request cleanup=cancelled:1 left_open=0" in result.summary.lines()
    assert venue.write_attempts == ["submit", "cancel"]
    assert store.query("SELECT status FROM orders") == [("CANCELLED",)]
    assert not actor_threads()


def test_second_signal_stops_at_once(tmp_path):
    deps, venue, _ = make(tmp_path)
    deps.stop.request()
    deps.stop.request()
    result = run_session(RuntimeOptions(max_cycles=None, cycle_seconds=0.01), deps)
    assert result.exit_code == 130 and venue.write_attempts == [] and not actor_threads()


def test_virtual_clock_drives_the_cycle_interval(tmp_path):
    clock = VirtualClock()
    deps, _, store = make(tmp_path, clock=clock, ttl_seconds=30)
    start = clock.wall_ms()
    result = run_session(RuntimeOptions(max_cycles=5, cycle_seconds=10.0), deps)
    assert result.exit_code == 0 and result.summary.cycles == 5
    assert clock.wall_ms() - start >= 40_000  # four waits of 10 s, none of them slept
    codes = [r[0] for r in store.query("SELECT reason_code FROM decisions ORDER BY cycle_id")]
    assert codes[0] == rc.ORDER_SUBMITTED and codes[1] == rc.STRATEGY_ORDER_ACTIVE
    assert rc.ORDER_TTL_CANCEL in codes  # 30 s TTL passes in virtual time


def test_rejects_are_recorded_and_are_an_anomaly(tmp_path):
    deps, venue, store = make(tmp_path)
    venue.faults.reject_orders = True
    result = run_session(RuntimeOptions(max_cycles=1), deps)
    assert result.exit_code == 1 and result.summary.rejected == 1
    assert store.query("SELECT status FROM orders") == [("REJECTED",)]


@pytest.mark.parametrize("venue_ahead_ms", [30_000, 0])
def test_a_reject_rate_latch_points_at_a_skewed_host_clock(tmp_path, venue_ahead_ms):
    deps, venue, store = make(tmp_path, clock=VirtualClock())  # time stands still while the offset is measured
    venue.faults.reject_orders = True  # as a venue answers every signed request (401) when our stamps are off
    venue.server_time_ms = lambda: deps.clock.wall_ms() + venue_ahead_ms
    result = run_session(RuntimeOptions(max_cycles=6, cycle_seconds=0.01), deps)
    assert result.exit_code == 1 and result.summary.rejected >= 5
    (details,) = store.query("SELECT details FROM alerts WHERE kind = 'safe_mode'")[0]
    assert json.loads(details)["cause"] == "reject_rate"
    lines = result.summary.lines()
    if venue_ahead_ms:
        hint = "clock offset 30000 ms: fix the host clock (NTP)"
        assert hint in json.loads(details)["detail"]
        assert 'anomaly: clock_offset offset_ms=30000 next="fix the host clock (NTP)"' in lines
    else:  # a clock in step is not blamed
        assert "clock offset" not in details and not any("clock_offset" in line for line in lines)


def test_kill_switch_cancels_only_owned_orders(tmp_path):
    deps, venue, store = make(tmp_path, ttl_seconds=60)
    run_session(RuntimeOptions(max_cycles=1, cancel_on_exit=False), deps)
    foreign = venue.place_foreign("BTCTRY", "someone-else", Decimal(1_000_000), Decimal("0.001"))
    deps2, _, _ = make(tmp_path, ttl_seconds=60, kill_switch=True)
    deps2.market_data = deps2.reader = deps2.gateway = venue
    deps2.store = store
    result = run_session(RuntimeOptions(max_cycles=1), deps2)
    assert result.exit_code == 0
    assert venue.write_attempts == ["submit", "cancel"]
    assert venue.orders[foreign.exchange_order_id].status.value == "Untouched"
    assert store.query("SELECT reason_code FROM decisions WHERE run_id = ?", [deps2.run_id]) == [
        (rc.KILL_SWITCH_CANCEL,)
    ]


def test_stale_streak_latches_safe_mode(tmp_path):
    deps, venue, store = make(tmp_path, safe_mode_stale_cycles=2, max_market_data_age_ms=100)
    venue.faults.stale_ms = 5000
    result = run_session(RuntimeOptions(max_cycles=3, cycle_seconds=0.01), deps)
    assert deps.gate.safe_mode_cause == "stale_market_data" and result.exit_code == 1
    assert store.query("SELECT reason_code FROM decisions WHERE symbol = '*'") == [(rc.SUPERVISOR_SAFE_MODE,)]
    assert venue.write_attempts == []


def test_kill_switch_without_write_authority_says_the_cancel_failed(tmp_path):
    deps, venue, store = make(tmp_path, ttl_seconds=60)
    run_session(RuntimeOptions(max_cycles=1, cancel_on_exit=False), deps)
    deps2, _, _ = make(tmp_path, ttl_seconds=60, kill_switch=True, dry_run=True)
    deps2.market_data = deps2.reader = deps2.gateway = venue
    deps2.store = store
    run_session(RuntimeOptions(max_cycles=1), deps2)
    assert venue.write_attempts == ["submit"]  # DRY_RUN=true: not even a protective cancel
    assert store.query("SELECT reason_code FROM decisions WHERE run_id = ?", [deps2.run_id]) == [
        (rc.KILL_SWITCH_CANCEL_FAILED,)
    ]


def test_armed_canary_once_that_cannot_place_is_an_anomaly(tmp_path):
    deps, venue, _ = make(tmp_path)
    venue.faults.crossed_book = True
    result = run_session(RuntimeOptions(command="canary_once", max_cycles=5, until_idle=True), deps)
    assert result.exit_code == 1 and result.summary.cycles == 1
    assert "anomaly: canary_not_placed reasons=market_data:invalid_book" in result.summary.lines()


def test_a_stuck_graph_latches_safe_mode_and_stops_non_zero(tmp_path):
    deps, _, store = make(tmp_path)
    # The hang lasts until the runtime has given up on the cycle, however late that is on a loaded machine.
    release = threading.Event()

    def release_once_latched() -> None:
        wait_until(lambda: deps.gate.safe_mode_cause, what="the cycle timeout")
        release.set()

    threading.Thread(target=release_once_latched, daemon=True).start()
    # The timeout applies to start-up and cycle 1 too: it leaves them room on a loaded machine.
    opts = RuntimeOptions(max_cycles=5, cycle_seconds=0.01, cycle_timeout_s=2.0,
                          fault=FaultPlan(actor="risk_gate", phase="hang", cycle_id=2, hang_s=WEDGED_AFTER_S,
                                          release=release))  # fmt: skip
    result = run_session(opts, deps)
    assert result.exit_code == 1 and result.summary.cycles == 1
    assert deps.gate.safe_mode_cause == "cycle_timeout"
    assert store.query("SELECT reason_code FROM decisions WHERE symbol = '*'") == [(rc.SUPERVISOR_SAFE_MODE,)]
    assert not actor_threads()  # the stalled actor finished its step and stopped with the rest


def test_unavailable_market_data_escalates_like_stale_and_exits_1(tmp_path):
    deps, venue, store = make(tmp_path, safe_mode_stale_cycles=2)
    venue.faults.unavailable = True
    result = run_session(RuntimeOptions(max_cycles=3, cycle_seconds=0.01), deps)
    assert deps.gate.safe_mode_cause == "stale_market_data" and result.exit_code == 1
    ((detail,),) = store.query("SELECT details FROM decisions WHERE symbol = '*'")
    assert "2 consecutive cycles without usable market data (market_data:unavailable=2)" in detail
    assert "anomaly: no_usable_market_data cycles=3 reasons=market_data:unavailable=3" in result.summary.lines()
    assert venue.write_attempts == []


class _ReconcileFails(FakeVenue):
    """Answers start-up's look (a live run never decides before the venue was read), then fails every one."""

    looks = 0

    def open_orders(self, symbol=None):
        self.looks += 1
        if self.looks == 1:
            return super().open_orders(symbol)
        raise TransientError("open orders: BTCTurk answered HTTP 500; temporary, retry later")


def test_reconciliation_failing_cycle_after_cycle_is_an_anomaly(tmp_path):
    deps, _, _ = make(tmp_path)
    venue = _ReconcileFails(deps.clock)
    deps.market_data = deps.reader = deps.gateway = venue
    result = run_session(RuntimeOptions(max_cycles=3, cycle_seconds=0.01, cancel_on_exit=False), deps)
    lines = result.summary.lines()
    assert result.exit_code == 1, lines
    # Each cycle's reconcile: the placed order is never confirmed, so every cycle forces one.
    assert "anomaly: reconcile_failing consecutive=3" in lines


class _SignalsBeforeSend:
    """The state store, except that a double Ctrl-C lands after the risk gate approved a submit, right before the
    order manager sends it (between its write-ahead and its token)."""

    def __init__(self, inner, stop: StopControl) -> None:
        self._inner = inner
        self._stop = stop

    def write_ahead(self, row):
        self._inner.write_ahead(row)
        self._stop.request("SIGINT")
        self._stop.request("SIGINT")

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_a_submit_in_flight_when_the_second_signal_lands_cannot_leave(tmp_path):
    deps, venue, store = make(tmp_path)
    deps.store = _SignalsBeforeSend(store, deps.stop)
    result = run_session(RuntimeOptions(max_cycles=None, cycle_seconds=0.01), deps)
    assert venue.write_attempts == []  # refused at the chokepoint: the gate was latched before anything stopped
    assert result.exit_code == 130
    assert store.query("SELECT status FROM orders") == [("NOT_SENT",)]
    lines = result.summary.lines()
    assert "anomaly: interrupted signal=SIGINT,SIGINT cleanup=skipped:stopped_at_once left_open=0" in lines
    assert "anomaly: safe_mode_latched cause=stop_at_once:SIGINT" in lines
    assert not actor_threads()


def test_kill_switch_with_write_authority_on_stale_data_records_stale_and_still_cancels(tmp_path):
    deps, venue, store = make(tmp_path, ttl_seconds=60)
    run_session(RuntimeOptions(max_cycles=1, cancel_on_exit=False), deps)
    deps2, _, _ = make(tmp_path, ttl_seconds=60, kill_switch=True, max_market_data_age_ms=100)
    deps2.market_data = deps2.reader = deps2.gateway = venue
    deps2.store = store
    venue.faults.stale_ms = 5000
    result = run_session(RuntimeOptions(max_cycles=1), deps2)
    assert venue.write_attempts == ["submit", "cancel"]
    ((code, detail),) = store.query("SELECT reason_code, details FROM decisions WHERE run_id = ?", [deps2.run_id])
    assert code == rc.MARKET_DATA_STALE and json.loads(detail)["kill_switch"] == rc.KILL_SWITCH_CANCEL
    assert "kill_switch cancel=1" in result.summary.lines()
    assert store.query("SELECT status FROM orders") == [("CANCELLED",)]
