"""Issue 12 §1-§2 against the simulator over loopback: nothing ends with exit 0 while something is wrong, and
Stage 0 (the runbook's baseline: DRY_RUN, KILL_SWITCH and SAFE_MODE all true) shows what it promises."""

from __future__ import annotations

import json

import pytest

from btcbot import reason_codes as rc
from btcbot.cli import main
from btcbot.errors import RateLimited
from btcbot.runtime.session import RuntimeOptions, StopControl
from btcbot.runtime.summary import OPEN_ORDER_NEXT

pytestmark = pytest.mark.integration

BASELINE_ARM_REASONS = {rc.ARM_LIVE_TRADING_FALSE, rc.ARM_ACK_MISSING, rc.ARM_DRY_RUN, rc.ARM_KILL_SWITCH,
                        rc.ARM_SAFE_MODE}  # fmt: skip


def baseline(h, **overrides):
    """The runbook's minimum safe baseline (the settings' defaults), credentials present, as Stage 0 runs it."""
    settings = h.settings(**overrides)
    assert settings.dry_run and settings.kill_switch and settings.safe_mode and not settings.live_trading
    return settings


def details(raw: str) -> dict[str, str]:
    return json.loads(raw)


def test_stage0_baseline_frozen_market_data_blocks_as_stale_and_escalates(vharness, vclock, capsys, monkeypatch):
    settings = baseline(vharness, max_market_data_age_ms=3000, safe_mode_stale_cycles=3)
    vharness.faults(freeze_market_data=True)
    vclock.advance_ms(9_000)  # the venue's book is 9 s old against a 3 s limit, as the operator saw it
    run = vharness.run(settings, RuntimeOptions(max_cycles=4, cycle_seconds=2))
    rows = run.rows("SELECT cycle_id, reason_code, details FROM decisions WHERE symbol = 'BTCTRY' ORDER BY cycle_id")
    # Market data first, whatever the gates: the kill switch's own work stays visible in the details.
    assert [r[1] for r in rows] == [rc.MARKET_DATA_STALE] * 4
    assert all(details(r[2])["kill_switch"] == rc.KILL_SWITCH_IDLE for r in rows)
    assert [r[0] for r in run.rows("SELECT outcome_reason_code FROM cycles")] == [rc.MARKET_DATA_STALE] * 4
    # ... and it escalates after SAFE_MODE_STALE_CYCLES, baseline or not.
    esc = run.rows("SELECT cycle_id, details FROM decisions WHERE symbol = '*'")
    assert [(c, details(d)["cause"]) for c, d in esc] == [(3, "stale_market_data")]
    assert run.gate.safe_mode_cause == "stale_market_data"
    lines = run.result.summary.lines()
    assert run.result.exit_code == 1, lines
    assert "kill_switch no_open_orders=4" in lines
    assert "anomaly: safe_mode_latched cause=stale_market_data" in lines
    assert "anomaly: no_usable_market_data cycles=4 reasons=market_data:stale=4" in lines
    assert vharness.writes() == []
    # The alerts see it too: a critical safe-mode alert and the stale streak.
    code = main(["stage7-alerts", "--last", "50", "--json", "--db", str(settings.state_db_path)])
    kinds = {a["kind"] for a in json.loads(capsys.readouterr().out)["alerts"]}
    assert code == 2 and {"safe_mode", "stale_streak"} <= kinds, kinds
    # ... and so does doctor.
    monkeypatch.setenv("STATE_DB_PATH", str(settings.state_db_path))
    main(["doctor", "--offline", "--json"])
    checks = {c["name"]: c["status"] for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["stale_blocks"] == "WARN" and checks["safe_mode_escalations"] == "WARN", checks


def test_stage0_baseline_fresh_data_runs_the_strategy_and_risk_gate(harness):
    settings = baseline(harness)
    run = harness.run(settings, RuntimeOptions(max_cycles=2, cycle_seconds=0.05))
    rows = run.rows("SELECT reason_code, action, details FROM decisions WHERE symbol = 'BTCTRY' ORDER BY cycle_id")
    assert [(r[0], r[1]) for r in rows] == [(rc.DRY_RUN_WOULD_SUBMIT, "would_submit")] * 2
    for _, _, raw in rows:
        d = details(raw)
        assert set(d["arm_reasons"].split(",")) == BASELINE_ARM_REASONS  # every blocking reason, the kill switch too
        assert d["kill_switch"] == rc.KILL_SWITCH_IDLE and d["side"] == "buy" and d["notional"]
    assert run.result.exit_code == 0, run.result.summary.lines()
    assert "anomalies=none" in run.result.summary.lines()
    assert harness.writes() == []


def test_stage0_fresh_data_shows_the_risk_refusal_when_there_is_one(harness):
    settings = baseline(harness, max_notional_per_order_try=120, min_order_notional_try=100)
    run = harness.run(settings, RuntimeOptions(max_cycles=1))  # the canary sizes to 150 in these tests
    ((code, raw),) = run.rows("SELECT reason_code, details FROM decisions WHERE symbol = 'BTCTRY'")
    assert code == rc.RISK_MAX_NOTIONAL_PER_ORDER and details(raw)["kill_switch"] == rc.KILL_SWITCH_IDLE
    assert harness.writes() == []


def test_rollback_that_cannot_cancel_leaves_the_order_listed_and_exits_1(harness):
    armed = harness.armed(ttl_seconds=600, cancel_open_orders_on_stop=False)
    first = harness.run(armed, RuntimeOptions(command="canary_loop", max_cycles=1, cycle_seconds=0.05))
    ((cid,),) = first.rows("SELECT client_order_id FROM orders WHERE status = 'OPEN'")
    # Leaving an order behind (CANCEL_OPEN_ORDERS_ON_STOP=false) is itself reported, with what to do about it.
    assert first.result.exit_code == 1
    assert f"anomaly: open_at_end ids={cid} next: {OPEN_ORDER_NEXT}" in first.result.summary.lines()
    # The runbook's rollback with every gate closed: the kill switch has no write authority and cannot cancel.
    run = harness.run(baseline(harness), RuntimeOptions(max_cycles=1))
    lines = run.result.summary.lines()
    assert run.rows("SELECT reason_code FROM decisions WHERE run_id = ?", [run.result.summary.run_id]) == [
        (rc.KILL_SWITCH_CANCEL_FAILED,)
    ]
    assert run.result.exit_code == 1, lines
    assert "anomaly: kill_switch_cancel_failed count=1" in lines
    assert f"anomaly: open_at_end ids={cid} next: {OPEN_ORDER_NEXT}" in lines
    assert [o.status.value for o in harness.venue_orders(armed) if o.client_order_id == cid] == ["Untouched"]
    assert [w["method"] for w in harness.writes()] == ["POST"]


def test_every_cycle_on_an_invalid_book_exits_1(harness):
    harness.faults(crossed_book=True)
    run = harness.run(baseline(harness), RuntimeOptions(max_cycles=2, cycle_seconds=0.05))
    assert [r[0] for r in run.rows("SELECT reason_code FROM decisions")] == [rc.MARKET_DATA_INVALID_BOOK] * 2
    assert run.result.exit_code == 1
    assert "anomaly: no_usable_market_data cycles=2 reasons=market_data:invalid_book=2" in run.result.summary.lines()


def test_a_venue_429_is_an_anomaly(vharness):
    vharness.faults(rate_limit=True)  # every API request answers 429 with Retry-After: 1
    run = vharness.run(vharness.armed(), RuntimeOptions(command="canary_loop", max_cycles=1))
    lines = run.result.summary.lines()
    assert run.result.exit_code == 1, lines
    ((anomaly,),) = [[ln for ln in lines if ln.startswith("anomaly: venue_rate_limited ")]]
    assert int(anomaly.rsplit("http_429=", 1)[1]) >= 1
    assert vharness.writes() == []


def test_the_limiter_counts_every_venue_429(vharness):
    http = vharness.http(vharness.settings())
    try:
        assert http.server_time_ms() and http.limiter.venue_429s == 0
        vharness.faults(rate_limit=True)
        with pytest.raises(RateLimited):
            http.order_book("BTCTRY")
        assert http.limiter.venue_429s == http.retry.max_attempts  # one per answer, retries included
    finally:
        http.close()


class _StopWhenResting:
    """The real reader; the first time the venue shows this bot's order resting, a stop arrives (a Ctrl-C)."""

    def __init__(self, inner, stop: StopControl, times: int) -> None:
        self._inner = inner
        self._stop = stop
        self._times = times

    def open_orders(self, symbol=None):
        out = self._inner.open_orders(symbol)
        if out and not self._stop.requests:
            for _ in range(self._times):
                self._stop.request("SIGINT")
        return out

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_a_single_signal_cleans_up_and_exits_130(harness):
    stop = StopControl()
    options = RuntimeOptions(command="canary_loop", max_cycles=50, cycle_seconds=0.05)
    run = harness.run(harness.armed(ttl_seconds=600), options, stop=stop,
                      reader_wrapper=lambda ex: _StopWhenResting(ex, stop, 1))  # fmt: skip
    lines = run.result.summary.lines()
    assert run.result.exit_code == 130, lines
    assert "anomaly: interrupted signal=SIGINT cleanup=cancelled:1 left_open=0" in lines
    assert [w["method"] for w in harness.writes()] == ["POST", "DELETE"]
    assert run.rows("SELECT exit_code FROM runs") == [(130,)]


def test_a_second_signal_stops_at_once_and_lists_the_order_it_left(harness):
    stop = StopControl()
    options = RuntimeOptions(command="canary_loop", max_cycles=50, cycle_seconds=0.05)
    run = harness.run(harness.armed(ttl_seconds=600), options, stop=stop,
                      reader_wrapper=lambda ex: _StopWhenResting(ex, stop, 2))  # fmt: skip
    lines = run.result.summary.lines()
    ((cid,),) = run.rows("SELECT client_order_id FROM orders WHERE status = 'OPEN'")
    assert run.result.exit_code == 130, lines
    assert "anomaly: interrupted signal=SIGINT,SIGINT cleanup=skipped:stopped_at_once left_open=1" in lines
    assert f"anomaly: open_at_end ids={cid} next: {OPEN_ORDER_NEXT}" in lines
    assert "anomaly: safe_mode_latched cause=stop_at_once:SIGINT" in lines
    assert [w["method"] for w in harness.writes()] == ["POST"]


def test_a_fill_that_beats_the_kill_switch_cancel_ends_as_a_fill_not_a_failed_cancel(vharness, vclock):
    """BTCTurk answers ORDER_COULD_NOT_BE_CANCELED (1050) for an order it has closed, i.e. filled. With the
    venue's order views lagging, the kill switch still sees the order open and cancels it: that is a fill that
    won the race, not a cancel that failed, and the summary must not cry kill_switch_cancel_failed."""
    from decimal import Decimal

    armed = vharness.armed(ttl_seconds=600, cancel_open_orders_on_stop=False)
    first = vharness.run(armed, RuntimeOptions(command="canary_loop", max_cycles=1, cycle_seconds=0.05))
    ((cid, oid, price),) = first.rows("SELECT client_order_id, exchange_order_id, price FROM orders")
    vharness.faults(order_view_lag_ms=5_000)
    engine = vharness.sim.core.engine

    def sweep_down_to_our_bid() -> None:
        engine.add_account(777, {"BTC": Decimal(100), "TRY": Decimal(0)})
        engine.submit(777, "BTCTRY", "sell", "limit", Decimal(100), Decimal(price), immediate_or_cancel=True)

    vharness.sim.call(sweep_down_to_our_bid)
    assert engine.get_order(vharness.sim.user_id, int(oid)).status == "Closed"

    kill = vharness.armed(kill_switch=True, ttl_seconds=600, cancel_open_orders_on_stop=False)
    run = vharness.run(kill, RuntimeOptions(max_cycles=5, cycle_seconds=2))
    lines = run.result.summary.lines()
    assert [w["method"] for w in vharness.writes()] == ["POST", "DELETE"]  # the cancel did go out, and lost
    assert not [ln for ln in lines if "cancel_failed" in ln], lines
    assert rc.KILL_SWITCH_CANCEL_FAILED not in {r[0] for r in run.rows("SELECT reason_code FROM decisions")}
    assert run.rows("SELECT status FROM orders WHERE client_order_id = ?", [cid]) == [("FILLED",)]
    assert not [ln for ln in lines if ln.startswith("anomaly: open_at_end")], lines
