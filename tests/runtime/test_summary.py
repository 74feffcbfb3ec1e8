"""The run's verdict as pure logic: every anomaly gets its own line and a non-zero exit, one exit-code table for
every command (0 clean, 1 anomaly, 130 interrupted), the cycle headline in pipeline order, the kill switch's
record, and the stop control's latch-before-stop."""

from __future__ import annotations

import signal
import threading
from dataclasses import replace
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.actors.state_writer import cycle_reason
from btcbot.arming import ArmingGate, ArmingInputs, decide_arming
from btcbot.domain.orders import OrderIntent, OrderSide, OrderStatus
from btcbot.errors import NotArmedError
from btcbot.runtime.cycle import CycleStats, SymbolOutcome
from btcbot.runtime.kill_switch import kill_switch_record, kill_switch_work
from btcbot.runtime.lifecycle import OrderRecord, new_intent_record
from btcbot.runtime.session import StopControl
from btcbot.runtime.summary import (
    EXIT_ANOMALY,
    EXIT_INTERRUPTED,
    EXIT_OK,
    OPEN_ORDER_NEXT,
    RECONCILE_FAILURE_STREAK,
    Interruption,
    RunEnd,
    RunSummary,
)
from btcbot.runtime.supervision import UNKNOWN_NEXT_ACTION
from btcbot.runtime.wiring import signals_to

NOW_MS = 1_700_000_000_000


def order(status: OrderStatus, cid: str = "btcbot-s-1") -> OrderRecord:
    rec = new_intent_record(
        OrderIntent("BTCTRY", OrderSide.BUY, Decimal(1_000_000), Decimal("0.0002"), cid),
        run_id="r",
        cycle_id=1,
        now_ms=NOW_MS,
        ttl_seconds=30,
        decision_id="d",
    )
    return replace(rec, status=status)


def fresh_cycle(summary: RunSummary, code: str = rc.DRY_RUN_WOULD_SUBMIT, *extra: tuple[str, str]) -> None:
    summary.cycles += 1
    summary.record_cycle([SymbolOutcome("BTCTRY", "would_submit", code, extra)])


def clean() -> RunSummary:
    s = RunSummary("run-1", "observe")
    fresh_cycle(s)
    return s


def anomaly_lines(s: RunSummary) -> list[str]:
    return [ln for ln in s.lines() if ln.startswith("anomaly: ")]


def test_a_clean_run_exits_0_with_no_anomaly_line():
    s = clean()
    assert s.conclude(RunEnd(live_orders=())) == EXIT_OK
    assert "anomalies=none" in s.lines() and anomaly_lines(s) == []


def _open_at_end(s):
    return RunEnd(live_orders=(order(OrderStatus.OPEN, "btcbot-s-b"), order(OrderStatus.PARTIAL, "btcbot-s-a")))


def _cancel_failed(s):
    work = (("kill_switch", rc.KILL_SWITCH_CANCEL_FAILED),)
    s.record_cycle([SymbolOutcome("BTCTRY", "none", rc.KILL_SWITCH_CANCEL_FAILED, work)])
    return RunEnd(live_orders=())


def _reconcile_failing(s):
    failed = CycleStats(alerts=(rc.RECONCILE_FAILED,))
    s.add(failed)
    s.add(CycleStats())  # throttled: no reconcile this time, the streak stands
    for _ in range(RECONCILE_FAILURE_STREAK - 1):
        s.add(failed)
    s.add(CycleStats(reconcile_lag_ms=3.0))  # a later success does not undo the streak that happened
    return RunEnd(live_orders=())


def _blind(s):
    s.cycles += 1
    s.record_cycle([SymbolOutcome("BTCTRY", "block", rc.MARKET_DATA_UNAVAILABLE),
                    SymbolOutcome("ETHTRY", "block", rc.MARKET_DATA_STALE)])  # fmt: skip
    s.cycles += 1
    s.record_cycle([SymbolOutcome("BTCTRY", "none", rc.SUPERVISOR_CYCLE_ABORTED),
                    SymbolOutcome("ETHTRY", "none", rc.SUPERVISOR_CYCLE_ABORTED)])  # fmt: skip
    return RunEnd(live_orders=())


@pytest.mark.parametrize(
    ("fresh", "arrange", "expected"),
    [
        (True, _open_at_end, f"anomaly: open_at_end ids=btcbot-s-a,btcbot-s-b next: {OPEN_ORDER_NEXT}"),
        (True, lambda s: RunEnd(live_orders=(order(OrderStatus.UNKNOWN),)),
         f"anomaly: unknown_at_end ids=btcbot-s-1 next: {UNKNOWN_NEXT_ACTION}"),
        (True, _cancel_failed, "anomaly: kill_switch_cancel_failed count=1"),
        (True, lambda s: RunEnd(live_orders=(), venue_429s=2), "anomaly: venue_rate_limited http_429=2"),
        (True, _reconcile_failing, f"anomaly: reconcile_failing consecutive={RECONCILE_FAILURE_STREAK}"),
        (False, _blind,
         "anomaly: no_usable_market_data cycles=2 reasons=market_data:stale=1,market_data:unavailable=1"),
        (True, lambda s: (s.add(CycleStats(submitted=1, rejected=1)), RunEnd(live_orders=()))[1],
         "anomaly: orders_rejected count=1"),
        (True, lambda s: (s.add(CycleStats(orphans=1)), RunEnd(live_orders=()))[1], "anomaly: orphans_adopted count=1"),
        (True, lambda s: RunEnd(live_orders=(), safe_mode_cause="stale_market_data"),
         "anomaly: safe_mode_latched cause=stale_market_data"),
        (True, lambda s: RunEnd(live_orders=(), canary_not_placed=True),
         "anomaly: canary_not_placed reasons=dry_run:would_submit"),
        (True, lambda s: RunEnd(live_orders=(), stuck_actors=("feed",)), "anomaly: actors_not_stopped actors=feed"),
    ],
)  # fmt: skip
def test_each_anomaly_has_its_own_line_and_exits_1(fresh, arrange, expected):
    s = clean() if fresh else RunSummary("run-1", "observe")
    code = s.conclude(arrange(s))
    lines = s.lines()
    assert code == EXIT_ANOMALY, lines
    assert anomaly_lines(s) == [expected]
    assert lines[-2] == "anomalies=" + expected.split()[1] and lines[-1] == expected


def test_two_failed_reconciles_in_a_row_are_not_yet_an_anomaly():
    s = clean()
    for _ in range(RECONCILE_FAILURE_STREAK - 1):
        s.add(CycleStats(alerts=(rc.RECONCILE_FAILED,)))
    s.add(CycleStats(reconcile_lag_ms=2.0))
    s.add(CycleStats(alerts=(rc.RECONCILE_FAILED,)))
    assert s.conclude(RunEnd(live_orders=())) == EXIT_OK


def test_one_cycle_with_usable_data_is_enough():
    s = RunSummary("run-1", "observe")
    _blind(s)
    fresh_cycle(s)
    assert s.usable_market_data_cycles == 1
    assert s.conclude(RunEnd(live_orders=())) == EXIT_OK


def test_an_interrupted_run_exits_130_and_still_lists_its_anomalies():
    s = clean()
    end = RunEnd(
        live_orders=(order(OrderStatus.OPEN),),
        interruption=Interruption(("SIGINT", "SIGINT"), "skipped:stopped_at_once"),
        safe_mode_cause="stop_at_once:SIGINT",
    )
    assert s.conclude(end) == EXIT_INTERRUPTED
    assert anomaly_lines(s) == [
        "anomaly: interrupted signal=SIGINT,SIGINT cleanup=skipped:stopped_at_once left_open=1",
        f"anomaly: open_at_end ids=btcbot-s-1 next: {OPEN_ORDER_NEXT}",
        "anomaly: safe_mode_latched cause=stop_at_once:SIGINT",
    ]
    assert "anomalies=interrupted,open_at_end,safe_mode_latched" in s.lines()
    quiet = clean()
    assert quiet.conclude(RunEnd(live_orders=(), interruption=Interruption(("SIGTERM",), "nothing_open"))) == 130


def test_the_kill_switch_work_is_counted_from_the_records():
    s = RunSummary("run-1", "observe")
    fresh_cycle(s, rc.MARKET_DATA_STALE, ("kill_switch", rc.KILL_SWITCH_CANCEL))
    fresh_cycle(s, rc.DRY_RUN_WOULD_SUBMIT, ("kill_switch", rc.KILL_SWITCH_IDLE))
    fresh_cycle(s, rc.DRY_RUN_WOULD_SUBMIT, ("kill_switch", rc.KILL_SWITCH_IDLE))
    assert "kill_switch cancel=1 no_open_orders=2" in s.lines()
    assert "kill_switch none" in clean().lines()


def test_the_cycle_headline_follows_the_pipeline_order():
    # Market data first, even behind another symbol's later-stage code; else the first non-success.
    assert cycle_reason([rc.KILL_SWITCH_CANCEL, rc.MARKET_DATA_STALE]) == rc.MARKET_DATA_STALE
    assert cycle_reason([rc.RISK_MIN_NOTIONAL, rc.MARKET_DATA_UNAVAILABLE]) == rc.MARKET_DATA_UNAVAILABLE
    assert cycle_reason([rc.DRY_RUN_WOULD_SUBMIT, rc.RISK_MIN_NOTIONAL]) == rc.RISK_MIN_NOTIONAL
    assert cycle_reason([rc.DRY_RUN_WOULD_SUBMIT]) == rc.DRY_RUN_WOULD_SUBMIT


STALE = SymbolOutcome("BTCTRY", "block", rc.MARKET_DATA_STALE, (("max_age_ms", "3000"),))
WOULD = SymbolOutcome("BTCTRY", "would_submit", rc.DRY_RUN_WOULD_SUBMIT, (("arm_reasons", "arm:kill_switch"),))
KS_REFUSAL = SymbolOutcome("BTCTRY", "none", rc.RISK_KILL_SWITCH)
ACTIVE = SymbolOutcome("BTCTRY", "skip", rc.STRATEGY_ORDER_ACTIVE)


@pytest.mark.parametrize(
    ("outcome", "work", "code", "action"),
    [
        (STALE, rc.KILL_SWITCH_CANCEL, rc.MARKET_DATA_STALE, "block"),  # market data first, whatever the gates
        (STALE, rc.KILL_SWITCH_CANCEL_FAILED, rc.MARKET_DATA_STALE, "block"),
        (WOULD, rc.KILL_SWITCH_IDLE, rc.DRY_RUN_WOULD_SUBMIT, "would_submit"),  # observe mode shows the strategy
        (KS_REFUSAL, rc.KILL_SWITCH_IDLE, rc.KILL_SWITCH_IDLE, "none"),  # with write authority: as before
        (KS_REFUSAL, rc.KILL_SWITCH_CANCEL, rc.KILL_SWITCH_CANCEL, "cancel"),
        (ACTIVE, rc.KILL_SWITCH_CANCEL, rc.KILL_SWITCH_CANCEL, "cancel"),
        (ACTIVE, rc.KILL_SWITCH_CANCEL_FAILED, rc.KILL_SWITCH_CANCEL_FAILED, "none"),  # never hidden behind a skip
        (SymbolOutcome("BTCTRY", "refuse", rc.RISK_UNKNOWN_ORDER), rc.KILL_SWITCH_IDLE, rc.RISK_UNKNOWN_ORDER,
         "refuse"),
    ],
)  # fmt: skip
def test_the_kill_switch_record(outcome, work, code, action):
    out = kill_switch_record(outcome, work)
    assert (out.reason_code, out.action) == (code, action)
    assert dict(out.details)["kill_switch"] == work  # its own work is always visible
    assert set(outcome.details) <= set(out.details)
    if code != outcome.reason_code:
        assert dict(out.details)["was"] == outcome.reason_code


def test_the_kill_switch_work_on_a_symbol():
    assert kill_switch_work([order(OrderStatus.OPEN)], "BTCTRY") == rc.KILL_SWITCH_CANCEL_FAILED
    assert kill_switch_work([order(OrderStatus.PARTIAL), order(OrderStatus.CANCEL_PENDING, "b")], "BTCTRY") == (
        rc.KILL_SWITCH_CANCEL_FAILED
    )
    assert kill_switch_work([order(OrderStatus.CANCEL_PENDING)], "BTCTRY") == rc.KILL_SWITCH_CANCEL
    assert kill_switch_work([order(OrderStatus.UNKNOWN), order(OrderStatus.OPEN)], "ETHTRY") == rc.KILL_SWITCH_IDLE


def armed_gate() -> ArmingGate:
    return ArmingGate(decide_arming(ArmingInputs(True, "I_UNDERSTAND", False, False, False, False, True)))


class _CheckedEvent(threading.Event):
    """The hard-stop event; records whether the gate was already latched when it was set."""

    def __init__(self, gate: ArmingGate) -> None:
        super().__init__()
        self.gate = gate
        self.latched_when_set: bool | None = None

    def set(self) -> None:
        self.latched_when_set = self.gate.safe_mode_cause is not None
        super().set()


def test_a_second_stop_request_latches_the_gate_before_it_stops():
    gate = armed_gate()
    stop = StopControl()
    stop.guard(gate)
    stop.hard = hard = _CheckedEvent(gate)
    stop.request("SIGINT")
    assert stop.graceful.is_set() and not stop.hard.is_set() and gate.live  # the first only asks to finish
    stop.request("SIGTERM")
    assert hard.latched_when_set is True and stop.hard.is_set()
    assert gate.safe_mode_cause == "stop_at_once:SIGTERM" and not gate.live
    with pytest.raises(NotArmedError):  # a submit still queued somewhere cannot get a token ...
        gate.submit_token()
    assert stop.requests == ["SIGINT", "SIGTERM"] and stop.interrupted


def test_a_token_minted_before_the_second_signal_is_refused_at_send():
    gate = armed_gate()
    stop = StopControl()
    stop.guard(gate)
    token = gate.submit_token()  # ... and one already in hand is refused when the bytes would leave
    stop.request("SIGINT")
    token.check_at_send("submit")
    stop.request("SIGINT")
    with pytest.raises(NotArmedError):
        token.check_at_send("submit")


def test_an_end_of_data_stop_is_not_an_interruption():
    stop = StopControl()
    stop.graceful.set()  # replay's end of dataset
    assert not stop.interrupted


def test_signals_name_themselves_and_the_second_latches(capsys):
    if threading.current_thread() is not threading.main_thread():
        pytest.fail("signal handlers can only be installed from the main thread")
    gate = armed_gate()
    stop = StopControl()
    stop.guard(gate)
    before = signal.getsignal(signal.SIGINT)
    with signals_to(stop):
        signal.raise_signal(signal.SIGINT)
        assert stop.requests == ["SIGINT"] and gate.live
        signal.raise_signal(signal.SIGTERM)
    assert stop.requests == ["SIGINT", "SIGTERM"] and stop.hard.is_set()
    assert gate.safe_mode_cause == "stop_at_once:SIGTERM"
    assert signal.getsignal(signal.SIGINT) is before
    err = capsys.readouterr().err
    assert "SIGINT: finishing the current step" in err and "SIGTERM: safe mode latched, stopping now" in err


@pytest.mark.parametrize("command", [["run"], ["canary", "once"], ["canary", "loop"]])
def test_help_states_the_one_exit_code_table(command, capfd):
    from btcbot.cli import main

    assert main([*command, "--help"]) == 0
    captured = capfd.readouterr()
    table = captured.out.split("exit codes:", 1)[1].split()
    for code in ("0", "1", "2", "130"):
        assert code in table
    out = " ".join(captured.out.split())
    assert "1 anomaly: each on its own 'anomaly: <kind> ...' line" in out
    assert "130 interrupted by SIGINT (Ctrl-C) or SIGTERM, once or twice" in out


@pytest.mark.parametrize(
    ("setting", "cause", "shown"),
    [(False, None, "off"), (True, None, "on"), (True, "stale_market_data", "latched:stale_market_data"),
     (False, "actor_failure:strategy", "latched:actor_failure:strategy")],
)  # fmt: skip
def test_the_summary_says_safe_mode_as_the_live_line_does(setting, cause, shown):
    s = RunSummary("run-1", "observe", safe_mode_setting=setting)
    s.safe_mode_cause = cause
    assert f"safe_mode={shown}" in s.lines()
