"""``canary once --notional-try N`` on pairs with other scales: the order is on the pair's grid, its notional is at
most N and at least the exchange minimum, or the canary is refused with a code that says why.

The pairs mirror exchangeinfo shapes (API reference §4.2): BTCTRY (integer prices, 8 quantity decimals), USDTTRY
(2 and 2, a price near 41), a meme coin (integer quantities, 8 price decimals) and a coarse pair whose smallest
quantity is worth more than any canary.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.cycle import CycleContext
from btcbot.runtime.risk_gate import RiskInput, RiskLimits, assess
from btcbot.runtime.strategy import plan
from btcbot.strategies.canary import CanaryStrategy
from btcbot.strategy import Balances, Limits, MarketView, OrderSide, Position, Wanted, WantedOrder
from btcbot.testing.runtime_fakes import btctry_rules

D = Decimal
PAIRS: dict[str, tuple[SymbolRules, Decimal, Decimal]] = {  # rules, best bid, best ask
    "BTCTRY": (btctry_rules(), D(3_003_290), D(3_003_300)),
    "USDTTRY": (
        replace(btctry_rules("USDTTRY"), numerator_scale=2, denominator_scale=2, has_fraction=True),
        D("41.37"),
        D("41.38"),
    ),
    "SHIBTRY": (
        replace(btctry_rules("SHIBTRY"), numerator_scale=0, denominator_scale=8, has_fraction=True, min_price=D(0)),
        D("0.00041234"),
        D("0.00041240"),
    ),
    "COARSETRY": (replace(btctry_rules("COARSETRY"), numerator_scale=2), D(100_000), D(100_010)),
}
RICH = {"TRY": D(10**9), "BTC": D(1), "USDT": D(10**6), "SHIB": D(10**12), "COARSE": D(10)}


def canary_cycle(symbol: str, notional: Decimal):
    rules, bid, ask = PAIRS[symbol]
    book = BookSnapshot(symbol, (PriceLevel(bid, D(1)),), (PriceLevel(ask, D(1)),), None, 0, 0, "replay")
    view = MarketView(
        symbol=symbol,
        cycle_id=1,
        now_ms=0,
        book=book,
        rules=rules,
        orders=(),
        balances=Balances.from_mapping(RICH, known=True),
        position=Position(D(0)),
        fills=(),
        limits=Limits(1, 1, notional, notional, D(100), D(2), None),
    )
    wanted = CanaryStrategy.from_params(notional_try=notional, first_cycle_only=True).decide(view)
    ctx = CycleContext("run", 1, "cycle", (symbol,), 0, 0, None)
    proposal = plan(wanted, (), rules, ctx=ctx, scope="scope")
    # As `canary once` does: --notional-try is the per-order cap, MIN_ORDER_NOTIONAL_TRY 100.
    limits = RiskLimits(1, 1, notional, notional, D(100), D(2), max_orders_per_run=1)
    (verdict,) = assess(
        [RiskInput(symbol, proposal.intents, rules, book.mid, best_bid=bid, best_ask=ask)],
        limits=limits,
        live_orders=(),
        free_balances=RICH,
        kill_switch=False,
        safe_mode_latched=False,
    )
    return rules, proposal, verdict


@pytest.mark.parametrize("symbol", sorted(PAIRS))
@pytest.mark.parametrize("notional", [D(100), D(150), D("1000.5")])
def test_the_canary_order_fits_the_grid_and_the_notional_or_is_refused_by_name(symbol: str, notional: Decimal):
    rules, proposal, verdict = canary_cycle(symbol, notional)
    if not proposal.intents:
        assert (proposal.skip_reason, dict(proposal.details)["why"]) == (rc.STRATEGY_NO_INTENT, "size_rounds_to_zero")
        return
    if verdict.approved:
        (order,) = verdict.approved
        assert order.price == rules.round_price(order.price, order.side)
        assert order.quantity == rules.round_quantity(order.quantity)
        assert max(rules.min_exchange_value, D(100)) <= order.notional <= notional
    else:
        assert verdict.refusal in {rc.RISK_EXCHANGE_MIN_NOTIONAL, rc.RISK_MIN_NOTIONAL}


def test_each_pair_ends_where_its_scales_put_it() -> None:
    outcomes = {s: canary_cycle(s, D(150)) for s in PAIRS}
    approved = {s: v.approved[0].notional for s, (_, _, v) in outcomes.items() if v.approved}
    # 150 TRY buys 0.00005004 BTC at 2,997,283 (bid - 20 bps, integer), 3.63 USDT at 41.28 (2 decimals) and
    # 364,511 SHIB at 0.00041151: each rounded down, never up past the 150.
    assert approved == {"BTCTRY": D("149.98404132"), "USDTTRY": D("149.8464"), "SHIBTRY": D("149.99992161")}
    assert outcomes["COARSETRY"][1].intents == ()
    # USDTTRY at 100 TRY: 2.42 USDT is 99.8976 TRY, under the exchange minimum after rounding: refused, never sent.
    _, _, usdt = canary_cycle("USDTTRY", D(100))
    assert usdt.refusal == rc.RISK_MIN_NOTIONAL and dict(usdt.details)["notional"] == "99.8976"


def test_a_sell_price_rounded_up_onto_the_grid_is_judged_at_its_rounded_notional() -> None:
    # Sells round their price up (away from crossing): 3,000,000.4 becomes 3,000,001 on BTCTRY's integer grid, so
    # 0.00005 BTC is 150.00005 TRY: at a cap of 150.00004 only the rounded notional (not 150.00002) is over it.
    rules = PAIRS["BTCTRY"][0]
    wanted = Wanted.of(WantedOrder(OrderSide.SELL, D("3000000.4"), D("0.00005")))
    proposal = plan(wanted, (), rules, ctx=CycleContext("run", 1, "cycle", ("BTCTRY",), 0, 0, None), scope="s")
    (intent,) = proposal.intents
    assert (intent.price, intent.notional) == (D(3_000_001), D("150.00005"))
    limits = RiskLimits(1, 1, D(1000), D("150.00004"), D(100), D(2))
    (verdict,) = assess(
        [RiskInput("BTCTRY", proposal.intents, rules, D(3_000_000))],
        limits=limits,
        live_orders=(),
        free_balances=RICH,
        kill_switch=False,
        safe_mode_latched=False,
    )
    assert verdict.refusal == rc.RISK_MAX_NOTIONAL_PER_ORDER and dict(verdict.details)["notional"] == "150.00005000"
