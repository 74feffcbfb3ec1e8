"""The risk gate with strategies' orders: sells, the position cap, post-only, the per-run cap, every refusal its own.

Each cap is checked exactly at its limit (passes) and one grid step over it (refused with its code).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderIntent, OrderSide, OrderStatus
from btcbot.runtime.lifecycle import new_intent_record
from btcbot.runtime.risk_gate import BUY_FEE_RESERVE, RiskInput, RiskLimits, assess
from btcbot.testing.runtime_fakes import btctry_rules

B, S = OrderSide.BUY, OrderSide.SELL
BID, ASK = Decimal(2_000_000), Decimal(2_001_000)
REF = (BID + ASK) / 2  # 2,000,500
Q = Decimal("0.00000001")  # one quantity step
WIDE = RiskLimits(10, 10, Decimal(10**9), Decimal(10**9), Decimal(10), Decimal(2))
RICH = {"TRY": Decimal(10**9), "BTC": Decimal(1000)}
_n = iter(range(10**6))


def intent(side=B, price=BID, qty="0.0001", post_only=False):
    return OrderIntent("BTCTRY", side, Decimal(price), Decimal(qty), f"c{next(_n)}", post_only=post_only)


def live(side=B, qty="0.0001", filled="0", status=OrderStatus.OPEN):
    rec = new_intent_record(intent(side, qty=qty), run_id="r", cycle_id=1, now_ms=0, ttl_seconds=30, decision_id="d")
    return replace(rec, status=status, filled_quantity=Decimal(filled), exchange_order_id=1)


def judge(intents, *, limits=WIDE, live_orders=(), balances=RICH, positions=None, placed=0, cancels=(), **flags):
    (verdict,) = assess(
        [RiskInput("BTCTRY", tuple(intents), btctry_rules(), REF, best_bid=BID, best_ask=ASK, cancels=cancels)],
        limits=limits,
        live_orders=live_orders,
        free_balances=balances,
        kill_switch=flags.get("kill_switch", False),
        safe_mode_latched=flags.get("safe_mode", False),
        positions=positions,
        orders_placed=placed,
    )
    return verdict


def codes(verdict):
    return [r.reason_code for r in verdict.refused]


def cap(**changes):
    return replace(WIDE, **changes)


def test_orders_per_cycle_at_and_over():
    assert codes(judge([intent(), intent()], limits=cap(max_orders_per_cycle=2))) == []
    assert codes(judge([intent()] * 3, limits=cap(max_orders_per_cycle=2))) == [rc.RISK_MAX_ORDERS_PER_CYCLE]


def test_open_orders_per_symbol_counts_live_orders():
    limits = cap(max_open_orders_per_symbol=2)
    assert codes(judge([intent()], limits=limits, live_orders=[live()])) == []
    refused = judge([intent(), intent()], limits=limits, live_orders=[live()])
    assert codes(refused) == [rc.RISK_MAX_OPEN_ORDERS_PER_SYMBOL] and len(refused.approved) == 1


def test_notional_caps_at_and_over():
    n = BID * Decimal("0.0001")  # 200 TRY
    assert codes(judge([intent(), intent()], limits=cap(notional_cap_per_cycle=2 * n))) == []
    over = judge([intent(), intent()], limits=cap(notional_cap_per_cycle=2 * n - 1))
    assert codes(over) == [rc.RISK_NOTIONAL_CAP_PER_CYCLE]
    assert codes(judge([intent()], limits=cap(max_notional_per_order=n))) == []
    assert codes(judge([intent()], limits=cap(max_notional_per_order=n - 1))) == [rc.RISK_MAX_NOTIONAL_PER_ORDER]
    assert codes(judge([intent()], limits=cap(min_order_notional=n))) == []
    assert codes(judge([intent()], limits=cap(min_order_notional=n + 1))) == [rc.RISK_MIN_NOTIONAL]


def test_collar_at_and_over():
    edge = REF * Decimal("1.02")  # exactly 2% above the reference
    assert edge == int(edge)
    assert codes(judge([intent(S, edge)])) == []
    assert codes(judge([intent(S, edge + 1)])) == [rc.RISK_PRICE_COLLAR]


@pytest.mark.parametrize(
    ("side", "asset", "need"),
    [(S, "BTC", Decimal("0.0001")), (B, "TRY", BID * Decimal("0.0001") * (1 + BUY_FEE_RESERVE))],  # the fee too
)
def test_free_balance_for_sells_and_buys_at_and_over(side, asset, need):
    other = {"TRY": Decimal(10**9)} if asset == "BTC" else {"BTC": Decimal(1000)}
    assert codes(judge([intent(side)], balances={asset: need, **other})) == []
    short = need - (Q if asset == "BTC" else Decimal(1))
    refused = judge([intent(side)], balances={asset: short, **other})
    assert codes(refused) == [rc.RISK_INSUFFICIENT_BALANCE] and f"asset={asset}" in dict(refused.details)["why"]


def test_free_balance_is_shared_by_the_cycles_sells():
    assert codes(judge([intent(S), intent(S)], balances={"BTC": Decimal("0.0002")})) == []
    assert codes(judge([intent(S), intent(S)], balances={"BTC": Decimal("0.0002") - Q})) == [
        rc.RISK_INSUFFICIENT_BALANCE
    ]


def test_position_cap_on_buys_counts_position_live_buys_and_this_cycles_buys():
    limits = cap(max_position_base=(("BTCTRY", Decimal("0.001")),))
    pos = {"BTCTRY": Decimal("0.0005")}
    pending = [live(B, qty="0.0003", filled="0.0001")]  # 0.0002 could still fill
    assert codes(judge([intent(qty="0.0003")], limits=limits, positions=pos, live_orders=pending)) == []
    over = judge([intent(qty="0.0003"), intent(qty="0.0001")], limits=limits, positions=pos, live_orders=pending)
    assert codes(over) == [rc.RISK_MAX_POSITION] and len(over.approved) == 1
    assert codes(judge([intent(qty=Decimal("0.0003") + Q)], limits=limits, positions=pos, live_orders=pending)) == [
        rc.RISK_MAX_POSITION
    ]


def test_position_cap_on_sells_is_minus_the_cap_and_the_other_side_makes_no_room():
    limits = cap(max_position_base=(("*", Decimal("0.001")),))
    pos = {"BTCTRY": Decimal("0.0005")}
    assert codes(judge([intent(S, ASK, "0.0015")], limits=limits, positions=pos)) == []
    assert codes(judge([intent(S, ASK, Decimal("0.0015") + Q)], limits=limits, positions=pos)) == [rc.RISK_MAX_POSITION]
    # A resting sell may never fill: it does not let a buy past the cap.
    resting_sell = [live(S, qty="0.0005")]
    buy = intent(qty=Decimal("0.0005") + Q)
    assert codes(judge([buy], limits=limits, positions=pos, live_orders=resting_sell)) == [rc.RISK_MAX_POSITION]


def test_position_over_the_cap_may_still_be_reduced():
    limits = cap(max_position_base=(("BTCTRY", Decimal("0.001")),))
    pos = {"BTCTRY": Decimal("0.002")}  # e.g. the cap was lowered
    assert codes(judge([intent(S, ASK, "0.0005")], limits=limits, positions=pos)) == []
    assert codes(judge([intent(qty="0.0001")], limits=limits, positions=pos)) == [rc.RISK_MAX_POSITION]


def test_no_position_cap_for_an_unlisted_symbol():
    limits = cap(max_position_base=(("ETHTRY", Decimal("0.001")),))
    assert codes(judge([intent(qty="1")], limits=limits)) == []


def test_post_only_must_stay_behind_the_touch():
    assert codes(judge([intent(B, ASK - 1, post_only=True), intent(S, BID + 1, post_only=True)])) == []
    refused = judge([intent(B, ASK, post_only=True), intent(S, BID, post_only=True)])
    assert codes(refused) == [rc.RISK_POST_ONLY_WOULD_TAKE] * 2
    assert codes(judge([intent(B, ASK)])) == []  # without post-only, taking is allowed


def test_orders_per_run():
    limits = cap(max_orders_per_run=1)
    assert codes(judge([intent(), intent()], limits=limits)) == [rc.RISK_MAX_ORDERS_PER_RUN]
    assert codes(judge([intent()], limits=limits, placed=1)) == [rc.RISK_MAX_ORDERS_PER_RUN]


def test_every_refused_intent_is_its_own_refusal_with_the_order():
    far = intent(S, REF * 2)
    big = intent(S, ASK, "100")
    v = judge([far, intent(), big], balances={"TRY": Decimal(10**9), "BTC": Decimal(1)})
    assert len(v.approved) == 1 and codes(v) == [rc.RISK_PRICE_COLLAR, rc.RISK_INSUFFICIENT_BALANCE]
    assert [r.intent for r in v.refused] == [far, big]
    details = dict(v.refused[1].details)
    assert details["side"] == "sell" and details["quantity"] == "100" and "why" in details


def test_cancels_pass_unless_the_symbol_is_refused():
    assert judge([], cancels=("c1",)).cancels == ("c1",)
    assert judge([], cancels=("c1",), kill_switch=True).cancels == ()
    assert judge([], cancels=("c1",), safe_mode=True).cancels == ()
    unknown = live(status=OrderStatus.UNKNOWN)
    v = judge([intent()], cancels=("c1",), live_orders=[unknown])
    assert v.cancels == () and v.refusal == rc.RISK_UNKNOWN_ORDER and v.refused[0].intent is None
