"""What the kill switch did on a symbol, and which cause heads that symbol's decision record."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderMethod, OrderSide, OrderStatus
from btcbot.runtime.cycle import SymbolOutcome
from btcbot.runtime.kill_switch import KILL_SWITCH_DETAIL, kill_switch_record, kill_switch_work
from btcbot.runtime.lifecycle import OrderRecord

S = OrderStatus


def order(status: OrderStatus, symbol: str = "BTCTRY", cid: str = "c1") -> OrderRecord:
    return OrderRecord(cid, symbol, OrderSide.BUY, OrderMethod.LIMIT, Decimal(1), Decimal(1), status, "r", 1, 0, 0, 30)


@pytest.mark.parametrize(
    ("statuses", "work"),
    [
        ((), rc.KILL_SWITCH_IDLE),
        ((S.CANCEL_PENDING,), rc.KILL_SWITCH_CANCEL),
        ((S.OPEN,), rc.KILL_SWITCH_CANCEL_FAILED),
        ((S.PARTIAL,), rc.KILL_SWITCH_CANCEL_FAILED),
        ((S.CANCEL_PENDING, S.OPEN), rc.KILL_SWITCH_CANCEL_FAILED),  # one cancel out, one still resting
        ((S.CANCEL_PENDING, S.PARTIAL), rc.KILL_SWITCH_CANCEL_FAILED),
        ((S.UNKNOWN,), rc.KILL_SWITCH_IDLE),  # nothing the kill switch could cancel by id
        ((S.INTENT, S.CANCEL_PENDING), rc.KILL_SWITCH_CANCEL),
    ],
)
def test_work_on_a_symbol(statuses: tuple[OrderStatus, ...], work: str) -> None:
    live = [order(st, cid=f"c{i}") for i, st in enumerate(statuses)]
    assert kill_switch_work(live, "BTCTRY") == work


def test_work_counts_only_the_symbols_own_orders() -> None:
    live = [order(S.OPEN, "ETHTRY"), order(S.CANCEL_PENDING, "XRPTRY")]
    assert kill_switch_work(live, "BTCTRY") == rc.KILL_SWITCH_IDLE
    assert kill_switch_work(live, "XRPTRY") == rc.KILL_SWITCH_CANCEL


def outcome(action: str, code: str) -> SymbolOutcome:
    return SymbolOutcome("BTCTRY", action, code, details=(("why", "x"),), market_data_age_ms=12.0)


@pytest.mark.parametrize("action", ["block", "submit", "would_submit"])
@pytest.mark.parametrize("work", [rc.KILL_SWITCH_IDLE, rc.KILL_SWITCH_CANCEL, rc.KILL_SWITCH_CANCEL_FAILED])
def test_market_data_and_would_submit_keep_the_head_and_gain_the_work(action: str, work: str) -> None:
    o = outcome(action, "anything")
    assert kill_switch_record(o, work) == replace(o, details=(("why", "x"), (KILL_SWITCH_DETAIL, work)))


def test_idle_kill_switch_behind_another_refusal_only_adds_the_detail() -> None:
    o = outcome("refuse", rc.RISK_SAFE_MODE)
    assert kill_switch_record(o, rc.KILL_SWITCH_IDLE) == replace(
        o, details=(("why", "x"), (KILL_SWITCH_DETAIL, rc.KILL_SWITCH_IDLE))
    )


def test_idle_kill_switch_that_was_the_refusal_heads_the_record() -> None:
    o = outcome("refuse", rc.RISK_KILL_SWITCH)
    assert kill_switch_record(o, rc.KILL_SWITCH_IDLE) == replace(
        o,
        action="none",
        reason_code=rc.KILL_SWITCH_IDLE,
        details=(("why", "x"), ("was", rc.RISK_KILL_SWITCH), (KILL_SWITCH_DETAIL, rc.KILL_SWITCH_IDLE)),
    )


@pytest.mark.parametrize(
    ("work", "action"), [(rc.KILL_SWITCH_CANCEL, "cancel"), (rc.KILL_SWITCH_CANCEL_FAILED, "none")]
)
@pytest.mark.parametrize("code", [rc.RISK_KILL_SWITCH, rc.RISK_SAFE_MODE, rc.STRATEGY_ORDER_ACTIVE])
def test_a_cancel_made_or_failed_heads_the_record_whatever_skipped_it(work: str, action: str, code: str) -> None:
    o = outcome("skip", code)
    assert kill_switch_record(o, work) == replace(
        o,
        action=action,
        reason_code=work,
        details=(("why", "x"), ("was", code), (KILL_SWITCH_DETAIL, work)),
    )
