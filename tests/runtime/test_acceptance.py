"""Issue 5 acceptance tests (a-f, h, i) against the simulator over real loopback HTTP and WebSocket."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.actors._base import FaultPlan
from btcbot.arming import ArmingGate
from btcbot.domain.orders import OrderIntent, OrderSide, VenueOrderStatus, owned_prefix
from btcbot.exchange.btcturk import BtcturkExchange
from btcbot.runtime.session import RuntimeOptions
from btcbot.strategies.canary import CanaryStrategy
from btcbot.testing.waiting import wait_until

pytestmark = pytest.mark.integration


def test_a_dry_run_loop_records_every_cycle_and_writes_nothing(harness):
    settings = harness.armed(
        universe_symbols="BTCTRY,ETHTRY",
        market_data_mode="ws",
        btcturk_ws_enabled=True,
        max_orders_per_cycle=2,
        notional_cap_try_per_cycle=300,
    )
    run = harness.run(settings, RuntimeOptions(max_cycles=4, cycle_seconds=0.1), cli_dry_run=True)
    assert run.result.exit_code == 0
    rows = run.rows("SELECT symbol, count(*), min(reason_code), max(reason_code) FROM decisions GROUP BY symbol")
    assert {r[0]: r[1] for r in rows} == {"BTCTRY": 4, "ETHTRY": 4}
    assert {r[2] for r in rows} | {r[3] for r in rows} <= {rc.DRY_RUN_WOULD_SUBMIT, rc.MARKET_DATA_UNAVAILABLE}
    assert run.rows("SELECT count(*) FROM decisions WHERE reason_code = ?", [rc.DRY_RUN_WOULD_SUBMIT])[0][0] >= 6
    assert harness.writes() == []
    assert harness.no_actor_threads()


GATES = ("live_trading", "live_trading_ack", "dry_run", "kill_switch", "safe_mode")
ARMED_VALUE = {"live_trading": True, "live_trading_ack": "I_UNDERSTAND", "dry_run": False, "kill_switch": False,
               "safe_mode": False}  # fmt: skip
SAFE_VALUE = {"live_trading": False, "live_trading_ack": "", "dry_run": True, "kill_switch": True, "safe_mode": True}


def _gate_combinations() -> list[object]:
    """All 2^5 settings of the env gates, one test each (they spread over the workers). The one fully armed env
    runs with the CLI's --dry-run, the last gate that can still hold it back."""
    cases = []
    for bits in itertools.product((True, False), repeat=len(GATES)):
        values = {g: (ARMED_VALUE[g] if armed else SAFE_VALUE[g]) for g, armed in zip(GATES, bits, strict=True)}
        label = "+".join(g for g, armed in zip(GATES, bits, strict=True) if armed) or "none"
        cli_dry_run = all(bits)
        cases.append(pytest.param(values, cli_dry_run, id=f"armed={label}" + ("+cli_dry_run" if cli_dry_run else "")))
    return cases


GATE_COMBINATIONS = _gate_combinations()


def test_b_covers_every_gate_combination():
    assert len({tuple(p.values[0].items()) for p in GATE_COMBINATIONS}) == len(GATE_COMBINATIONS) == 32


@pytest.mark.parametrize(("values", "cli_dry_run"), GATE_COMBINATIONS)
def test_b_no_write_unless_fully_armed(harness, values, cli_dry_run):
    settings = harness.settings(**values)
    run = harness.run(settings, RuntimeOptions(max_cycles=1, cycle_seconds=0.05), cli_dry_run=cli_dry_run)
    assert not run.gate.live
    codes = [r[0] for r in run.rows("SELECT reason_code FROM decisions WHERE symbol = 'BTCTRY'")]
    # The kill switch heads the record only where it is what holds back a process with write authority; an
    # observe-only run shows what it would have sent, the kill switch among its arm reasons.
    ks_blocks = values["kill_switch"] and run.gate.decision.protective_cancel_allowed
    assert codes == [rc.KILL_SWITCH_IDLE if ks_blocks else rc.DRY_RUN_WOULD_SUBMIT], codes
    assert harness.writes() == []


def test_c_armed_canary_once_places_one_order_and_cancels_it_at_ttl(vharness):
    # Virtual time: the simulator stamps its request log with the session's clock, so the TTL is exact here
    # however slowly the machine runs (on wall time the decision-to-POST delay would eat into it).
    settings = vharness.armed(ttl_seconds=30)
    strategy = CanaryStrategy.from_params(
        notional_try=Decimal(150), offset_bps=settings.canary_offset_bps, first_cycle_only=True
    )
    options = RuntimeOptions(command="canary_once", max_cycles=40, cycle_seconds=0.1, ttl_seconds=1, until_idle=True)
    run = vharness.run(settings, options, strategy=strategy)
    assert run.result.exit_code == 0, run.result.summary.lines()
    writes = vharness.writes()
    assert [w["method"] for w in writes] == ["POST", "DELETE"]
    # Cancelled at its TTL, not before, and by the first cycle past it.
    assert 1000 <= writes[1]["ts_ms"] - writes[0]["ts_ms"] <= 1000 + 100
    assert run.result.summary.cycles < options.max_cycles  # it ended once idle, not by running out of cycles
    orders = run.rows("SELECT client_order_id, exchange_order_id, status, ttl_seconds FROM orders")
    assert len(orders) == 1 and orders[0][2] == "CANCELLED" and orders[0][3] == 1
    venue = [o for o in vharness.venue_orders(settings) if o.client_order_id == orders[0][0]]
    assert len(venue) == 1 and venue[0].exchange_order_id == orders[0][1]
    assert venue[0].status is VenueOrderStatus.CANCELED
    s = run.result.summary
    assert (s.placed, s.acknowledged, s.cancelled, s.filled, s.rejected, s.unknown) == (1, 1, 1, 0, 0, 0)
    assert vharness.no_actor_threads()


def test_d_frozen_market_data_blocks_as_stale(vharness, vclock):
    settings = vharness.armed(max_market_data_age_ms=300)
    vharness.faults(freeze_market_data=True)
    vclock.advance_ms(500)  # the venue's frozen book is now older than MAX_MARKET_DATA_AGE_MS
    run = vharness.run(settings, RuntimeOptions(max_cycles=2, cycle_seconds=0.05))
    codes = [r[0] for r in run.rows("SELECT reason_code FROM decisions ORDER BY cycle_id")]
    assert codes == [rc.MARKET_DATA_STALE] * 2
    assert vharness.writes() == []


def test_d_crossed_book_blocks_as_invalid(harness):
    settings = harness.armed()
    harness.faults(crossed_book=True)
    run = harness.run(settings, RuntimeOptions(max_cycles=2, cycle_seconds=0.05))
    rows = run.rows("SELECT reason_code, details FROM decisions ORDER BY cycle_id")
    assert [r[0] for r in rows] == [rc.MARKET_DATA_INVALID_BOOK] * 2
    assert "best_bid" in json.loads(rows[0][1])
    assert harness.writes() == []
    assert run.result.exit_code == 1  # no cycle had usable market data


class _LaggingHistory:
    """The real reader, except that the venue's views omit orders with ``hidden`` client ids for a while."""

    def __init__(self, inner, lag_calls: int) -> None:
        self._inner = inner
        self._left = lag_calls

    def _filter(self, orders):
        if self._left <= 0:
            return orders
        return [o for o in orders if not (o.client_order_id or "").startswith("btcbot-")]

    def open_orders(self, symbol=None):
        out = self._filter(self._inner.open_orders(symbol))
        return out

    def all_orders(self, symbol, start_ms=None):
        out = self._filter(self._inner.all_orders(symbol, start_ms))
        self._left -= 1
        return out

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_e_dropped_response_is_unknown_blocks_symbol_and_is_resolved_without_duplicate(harness):
    settings = harness.armed(ttl_seconds=30)
    harness.faults(drop_order_response=True)
    options = RuntimeOptions(command="canary_loop", max_cycles=5, cycle_seconds=0.05, cancel_on_exit=False)
    run = harness.run(settings, options, submit_timeout_s=0.5, reader_wrapper=lambda ex: _LaggingHistory(ex, 2))
    codes = [r[0] for r in run.rows("SELECT reason_code FROM decisions ORDER BY cycle_id")]
    assert codes[0] == rc.ORDER_UNKNOWN
    assert rc.RISK_UNKNOWN_ORDER in codes[1:3]
    assert codes[-1] == rc.STRATEGY_ORDER_ACTIVE  # resolved: the order is known to be resting
    events = [r[0] for r in run.rows("SELECT event FROM order_events ORDER BY ts")]
    assert events[:3] == ["intent", "unknown", "resolved"]  # the looks that found nothing changed nothing
    status = run.rows("SELECT status, exchange_order_id FROM orders")
    assert len(status) == 1 and status[0][0] == "OPEN" and status[0][1] is not None
    posts = [w for w in harness.writes() if w["method"] == "POST"]
    assert len(posts) == 1  # never resubmitted
    assert run.result.exit_code == 1  # an UNKNOWN is an anomaly the operator must hear about


def test_f_actor_failure_latches_safe_mode_and_cancels_still_work(vharness):
    settings = vharness.armed()
    options = RuntimeOptions(
        command="canary_loop",
        max_cycles=16,
        cycle_seconds=0.1,
        ttl_seconds=1,
        fault=FaultPlan(actor="strategy", phase="receive", cycle_id=3),
    )
    run = vharness.run(settings, options)
    assert run.gate.safe_mode_cause == "actor_failure:strategy"
    esc = run.rows("SELECT reason_code, details FROM decisions WHERE symbol = '*'")
    assert esc and esc[0][0] == rc.SUPERVISOR_SAFE_MODE and json.loads(esc[0][1])["cause"] == "actor_failure:strategy"
    alerts = run.rows("SELECT kind, reason_code FROM alerts WHERE kind IN ('safe_mode', 'actor_restart')")
    assert ("safe_mode", rc.SUPERVISOR_SAFE_MODE) in alerts and (
        "actor_restart",
        rc.SUPERVISOR_ACTOR_RESTARTED,
    ) in alerts
    codes = [r[0] for r in run.rows("SELECT reason_code FROM decisions WHERE symbol = 'BTCTRY' ORDER BY cycle_id")]
    assert codes[0] == rc.ORDER_SUBMITTED and codes[2] == rc.SUPERVISOR_CYCLE_ABORTED
    assert rc.ORDER_TTL_CANCEL in codes[3:] and codes[-1] == rc.RISK_SAFE_MODE
    assert [w["method"] for w in vharness.writes()] == ["POST", "DELETE"]  # no new order; the cancel went out
    assert run.rows("SELECT status FROM orders") == [("CANCELLED",)]
    assert run.result.exit_code == 1
    assert vharness.no_actor_threads()


def test_h_second_instance_on_same_scope_is_refused(harness, capsys):
    from btcbot.cli import main
    from btcbot.lock import InstanceLock

    settings = harness.settings()
    env = {
        "BTCTURK_BASE_URL": harness.sim.rest_url,
        "STATE_DB_PATH": str(settings.state_db_path),
        "BTCTURK_API_KEY": harness.sim.api_key,
        "BTCTURK_API_SECRET": harness.sim.api_secret,
        "TRACE_SINK_ENABLED": "false",
        "OTEL_SDK_DISABLED": "true",
    }
    mp = pytest.MonkeyPatch()
    try:
        for k, v in env.items():
            mp.setenv(k, v)
        with InstanceLock.for_settings(settings):
            code = main(["run", "--once", "--dry-run"])
    finally:
        mp.undo()
    assert code == 2
    assert "another btcbot instance holds the lock" in capsys.readouterr().err
    assert harness.writes() == []


def test_i_kill_switch_cancels_only_this_bots_orders(harness):
    settings = harness.armed(ttl_seconds=60, cancel_open_orders_on_stop=False)
    # This bot's order, left open by an earlier run.
    first = harness.run(settings, RuntimeOptions(command="canary_loop", max_cycles=1, cycle_seconds=0.05))
    ours = first.rows("SELECT client_order_id, exchange_order_id FROM orders WHERE status = 'OPEN'")
    assert len(ours) == 1
    # Someone else's order on the same account.
    ex = BtcturkExchange.from_settings(settings)
    try:
        gate = ArmingGate.from_settings(settings)
        foreign = ex.submit_order(
            OrderIntent("BTCTRY", OrderSide.BUY, Decimal(1_000_000), Decimal("0.0002"), "manual-operator-1"),
            gate.submit_token(),
        )
    finally:
        ex.close()
    run = harness.run(settings.model_copy(update={"kill_switch": True}), RuntimeOptions(max_cycles=1))
    codes = [r[0] for r in run.rows("SELECT reason_code FROM decisions WHERE run_id = ?", [run.result.summary.run_id])]
    assert codes == [rc.KILL_SWITCH_CANCEL]
    deletes = [w for w in harness.writes() if w["method"] == "DELETE"]
    assert len(deletes) == 1
    by_id = {o.exchange_order_id: o for o in harness.venue_orders(settings)}
    assert by_id[foreign.exchange_order_id].status is VenueOrderStatus.UNTOUCHED
    assert by_id[ours[0][1]].status is VenueOrderStatus.CANCELED
    assert not foreign.client_order_id.startswith(owned_prefix(settings.resolved_account_scope))


def test_fill_is_recorded_with_fills_and_balance_snapshots_on_restart(harness):
    import requests

    settings = harness.armed(ttl_seconds=60, cancel_open_orders_on_stop=False)
    first = harness.run(settings, RuntimeOptions(command="canary_loop", max_cycles=1, cycle_seconds=0.05))
    ((cid, price),) = first.rows("SELECT client_order_id, price FROM orders WHERE status = 'OPEN'")
    # The market falls through the resting buy: the simulator's liquidity sells into it.
    requests.post(f"{harness.sim.rest_url}/sim/market", json={"symbol": "BTCTRY", "mid": str(price * Decimal("0.9"))},
                  timeout=5).raise_for_status()  # fmt: skip
    wait_until(
        lambda: [o for o in harness.venue_orders(settings) if o.client_order_id == cid and o.filled_quantity > 0],
        what="the simulator fills the canary",
    )
    second = harness.run(settings, RuntimeOptions(command="canary_loop", max_cycles=1, cycle_seconds=0.05))
    status = second.rows("SELECT status, filled_quantity FROM orders WHERE client_order_id = ?", [cid])
    assert status[0][0] in ("FILLED", "PARTIAL") and status[0][1] > 0
    fills = second.rows("SELECT client_order_id, quantity FROM fills")
    assert fills and all(f[0] == cid for f in fills) and sum(f[1] for f in fills) == status[0][1]
    assert second.rows("SELECT count(*) FROM balance_snapshots WHERE run_id = ?", [second.result.summary.run_id])[0][0]
    assert second.result.summary.filled == (1 if status[0][0] == "FILLED" else 0)
