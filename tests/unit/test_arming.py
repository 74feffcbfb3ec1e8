from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btcbot import reason_codes as rc
from btcbot.arming import ArmingGate, ArmingInputs, Mode, WriteToken, decide_arming
from btcbot.errors import NotArmedError

ARMED = ArmingInputs(
    live_trading=True,
    live_trading_ack="I_UNDERSTAND",
    dry_run=False,
    kill_switch=False,
    safe_mode=False,
    cli_dry_run=False,
    credentials_present=True,
)


@given(
    live_trading=st.booleans(),
    ack=st.sampled_from(["", "I_UNDERSTAND", "i_understand", "I_UNDERSTAND ", "yes", "I UNDERSTAND"])
    | st.text(max_size=20),
    dry_run=st.booleans(),
    kill_switch=st.booleans(),
    safe_mode=st.booleans(),
    cli_dry_run=st.booleans(),
    creds=st.booleans(),
)
def test_live_iff_every_gate_armed_and_every_reason_reported(
    live_trading: bool, ack: str, dry_run: bool, kill_switch: bool, safe_mode: bool, cli_dry_run: bool, creds: bool
) -> None:
    inputs = ArmingInputs(live_trading, ack, dry_run, kill_switch, safe_mode, cli_dry_run, creds)
    decision = decide_arming(inputs)
    expected = {
        rc.ARM_LIVE_TRADING_FALSE: not live_trading,
        rc.ARM_ACK_MISSING: ack != "I_UNDERSTAND",
        rc.ARM_DRY_RUN: dry_run,
        rc.ARM_KILL_SWITCH: kill_switch,
        rc.ARM_SAFE_MODE: safe_mode,
        rc.ARM_CLI_DRY_RUN: cli_dry_run,
        rc.ARM_CREDENTIALS_MISSING: not creds,
    }
    assert set(decision.reasons) == {code for code, blocked in expected.items() if blocked}
    assert len(decision.reasons) == len(set(decision.reasons))
    assert decision.live is (not any(expected.values()))
    assert (decision.mode is Mode.LIVE) is decision.live
    gate = ArmingGate(decision)
    if decision.live:
        gate.submit_token().check_at_send("submit")
    else:
        with pytest.raises(NotArmedError):
            gate.submit_token()


def test_token_cannot_be_forged() -> None:
    gate = ArmingGate(decide_arming(ARMED))
    with pytest.raises(NotArmedError):
        WriteToken(gate, "submit")


def test_safe_mode_latch_revokes_minted_submit_token_but_keeps_cancels() -> None:
    gate = ArmingGate(decide_arming(ARMED))
    token = gate.submit_token()
    assert gate.latch_safe_mode("actor_failure:risk_gate")
    assert not gate.latch_safe_mode("second cause is ignored")
    with pytest.raises(NotArmedError) as info:
        token.check_at_send("submit")
    assert rc.ARM_SAFE_MODE_LATCHED in info.value.reasons
    gate.cancel_token().check_at_send("cancel")
    gate.protective_cancel_token().check_at_send("cancel")


def test_cancel_token_cannot_submit() -> None:
    gate = ArmingGate(decide_arming(ARMED))
    with pytest.raises(NotArmedError):
        gate.cancel_token().check_at_send("submit")


def test_kill_switch_allows_only_protective_cancel() -> None:
    gate = ArmingGate(decide_arming(ArmingInputs(True, "I_UNDERSTAND", False, True, False, False, True)))
    assert not gate.live
    with pytest.raises(NotArmedError):
        gate.submit_token()
    gate.protective_cancel_token().check_at_send("cancel")


def test_observe_only_never_writes_not_even_protective_cancel() -> None:
    gate = ArmingGate(decide_arming(ArmingInputs(True, "I_UNDERSTAND", True, True, True, False, True)))
    for mint in (gate.submit_token, gate.cancel_token, gate.protective_cancel_token):
        with pytest.raises(NotArmedError):
            mint()
