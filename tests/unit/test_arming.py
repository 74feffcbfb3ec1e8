from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btcbot import reason_codes as rc
from btcbot.arming import ArmingDecision, ArmingGate, ArmingInputs, Mode, WriteToken, decide_arming
from btcbot.errors import NotArmedError
from btcbot.settings import Settings

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
    with pytest.raises(NotArmedError) as info:
        WriteToken(gate, "submit")
    assert (
        str(info.value)
        == "exchange write refused: not armed (write tokens are minted only by btcbot.arming.ArmingGate)"
    )


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


def _authority(inputs: ArmingInputs) -> bool:
    """Standing write authority: every operator gate armed; the kill switch and safe mode do not take it away."""
    return (
        inputs.live_trading
        and inputs.live_trading_ack == "I_UNDERSTAND"
        and not inputs.dry_run
        and not inputs.cli_dry_run
        and inputs.credentials_present
    )


@given(
    live_trading=st.booleans(),
    ack=st.sampled_from(["", "I_UNDERSTAND", "i_understand", "I_understand"]),
    dry_run=st.booleans(),
    kill_switch=st.booleans(),
    safe_mode=st.booleans(),
    cli_dry_run=st.booleans(),
    creds=st.booleans(),
)
def test_protective_cancel_authority_and_what_each_token_may_do(
    live_trading: bool, ack: str, dry_run: bool, kill_switch: bool, safe_mode: bool, cli_dry_run: bool, creds: bool
) -> None:
    inputs = ArmingInputs(live_trading, ack, dry_run, kill_switch, safe_mode, cli_dry_run, creds)
    decision = decide_arming(inputs)
    assert decision.protective_cancel_allowed is _authority(inputs)
    gate = ArmingGate(decision)
    may_cancel = decision.live or decision.protective_cancel_allowed
    for mint, allowed in (
        (gate.submit_token, decision.live),
        (gate.cancel_token, may_cancel),
        (gate.protective_cancel_token, decision.protective_cancel_allowed),
    ):
        if allowed:
            assert mint().check_at_send("cancel") is None
        else:
            with pytest.raises(NotArmedError) as info:
                mint()
            assert info.value.reasons == decision.reasons


@pytest.mark.parametrize("ack", ["i_understand", "I_understand", "I UNDERSTAND", "I_UNDERSTAND.", "yes"])
def test_an_ack_in_any_other_spelling_does_not_arm(ack: str) -> None:
    decision = decide_arming(ArmingInputs(True, ack, False, False, False, False, True))
    assert decision.mode is Mode.OBSERVE and decision.reasons == (rc.ARM_ACK_MISSING,)
    assert not decision.protective_cancel_allowed


def test_every_reason_in_a_fixed_order() -> None:
    decision = decide_arming(ArmingInputs(False, "", True, True, True, True, False))
    assert decision.reasons == (
        rc.ARM_LIVE_TRADING_FALSE,
        rc.ARM_ACK_MISSING,
        rc.ARM_DRY_RUN,
        rc.ARM_KILL_SWITCH,
        rc.ARM_SAFE_MODE,
        rc.ARM_CLI_DRY_RUN,
        rc.ARM_CREDENTIALS_MISSING,
    )


def test_inputs_come_from_the_settings_one_for_one() -> None:
    settings = Settings(
        live_trading=True,
        live_trading_ack="I_UNDERSTAND",
        dry_run=False,
        kill_switch=False,
        safe_mode=True,
        btcturk_api_key="key",
        btcturk_api_secret="c2VjcmV0",
    )
    assert ArmingInputs.from_settings(settings) == ArmingInputs(True, "I_UNDERSTAND", False, False, True, False, True)
    assert ArmingInputs.from_settings(settings, cli_dry_run=True).cli_dry_run
    assert ArmingInputs.from_settings(Settings()) == ArmingInputs(False, "", True, True, True, False, False)
    gate = ArmingGate.from_settings(settings, cli_dry_run=True)
    assert gate.decision == decide_arming(ArmingInputs(True, "I_UNDERSTAND", False, False, True, True, True))
    armed = settings.model_copy(update={"safe_mode": False})
    assert ArmingGate.from_settings(armed).live  # no --dry-run unless the CLI says so


def test_the_latch_keeps_its_first_cause_and_adds_one_reason() -> None:
    gate = ArmingGate(decide_arming(ARMED))
    assert gate.live and gate.safe_mode_cause is None and gate.blocking_reasons() == ()
    assert gate.latch_safe_mode("stale_market_data")
    assert not gate.latch_safe_mode("reject_rate")
    assert gate.safe_mode_cause == "stale_market_data" and not gate.live
    assert gate.blocking_reasons() == (rc.ARM_SAFE_MODE_LATCHED,)
    with pytest.raises(NotArmedError) as info:
        gate.submit_token()
    assert info.value.reasons == (rc.ARM_SAFE_MODE_LATCHED,)
    observe = ArmingGate(decide_arming(ArmingInputs(True, "I_UNDERSTAND", True, False, False, False, True)))
    observe.latch_safe_mode("x")
    assert observe.blocking_reasons() == (rc.ARM_DRY_RUN, rc.ARM_SAFE_MODE_LATCHED)
    with pytest.raises(NotArmedError) as info:
        observe.cancel_token()
    assert info.value.reasons == (rc.ARM_DRY_RUN, rc.ARM_SAFE_MODE_LATCHED)


def test_a_submit_token_may_also_cancel_while_live() -> None:
    gate = ArmingGate(decide_arming(ARMED))
    token = gate.submit_token()
    assert token.kind == "submit" and repr(token) == "WriteToken(kind='submit')"
    token.check_at_send("cancel")
    gate.latch_safe_mode("x")
    with pytest.raises(NotArmedError):
        token.check_at_send("cancel")  # a submit token is only as good as the live gate


def test_a_protective_cancel_token_cannot_submit_and_names_why() -> None:
    gate = ArmingGate(decide_arming(ArmingInputs(True, "I_UNDERSTAND", False, True, False, False, True)))
    token = gate.protective_cancel_token()
    with pytest.raises(NotArmedError, match="a protective_cancel token cannot submit an order"):
        token.check_at_send("submit")


def test_each_token_names_its_kind() -> None:
    gate = ArmingGate(decide_arming(ARMED))
    assert [t.kind for t in (gate.submit_token(), gate.cancel_token(), gate.protective_cancel_token())] == [
        "submit",
        "cancel",
        "protective_cancel",
    ]
    assert gate.operator_cleanup_token(confirmed=True).kind == "operator_cleanup"


@pytest.mark.parametrize(
    ("decision", "cancel", "protective"),
    [
        (ArmingDecision(Mode.LIVE, (), protective_cancel_allowed=False), True, False),
        (ArmingDecision(Mode.OBSERVE, (rc.ARM_KILL_SWITCH,), protective_cancel_allowed=True), True, True),
        (ArmingDecision(Mode.OBSERVE, (rc.ARM_DRY_RUN,), protective_cancel_allowed=False), False, False),
    ],
)
def test_an_ordinary_cancel_needs_live_or_standing_authority_either_alone(
    decision: ArmingDecision, cancel: bool, protective: bool
) -> None:
    gate = ArmingGate(decision)
    for mint, allowed in ((gate.cancel_token, cancel), (gate.protective_cancel_token, protective)):
        if allowed:
            mint().check_at_send("cancel")
        else:
            with pytest.raises(NotArmedError):
                mint()


def test_operator_cleanup_needs_the_confirmation_and_credentials_only_and_never_submits() -> None:
    baseline = ArmingGate(decide_arming(ArmingInputs(False, "", True, True, True, False, True)))
    with pytest.raises(NotArmedError) as info:
        baseline.operator_cleanup_token(confirmed=False)
    assert info.value.reasons == (rc.OPERATOR_NOT_CONFIRMED,)
    token = baseline.operator_cleanup_token(confirmed=True)
    token.check_at_send("cancel")
    with pytest.raises(NotArmedError, match="a operator_cleanup token cannot submit an order"):
        token.check_at_send("submit")
    no_keys = ArmingGate(decide_arming(ArmingInputs(False, "", True, True, True, False, False)))
    with pytest.raises(NotArmedError) as info:
        no_keys.operator_cleanup_token(confirmed=True)
    assert info.value.reasons == (rc.ARM_CREDENTIALS_MISSING,)
