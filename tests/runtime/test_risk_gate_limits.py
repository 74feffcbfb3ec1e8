"""Every risk-gate cap exactly at its limit (passes) and one unit over (refused), per intent and summed per cycle.

Prices are 100 TRY so a quantity reads as its notional in hundreds: ``buy("0.6")`` is 60 TRY.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderIntent, OrderMethod, OrderSide, OrderStatus
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.risk_gate import Refusal, RiskInput, RiskLimits, RiskVerdict, assess
from btcbot.settings import Settings

D = Decimal
RULES = SymbolRules(
    symbol="BTCTRY",
    numerator="BTC",
    denominator="TRY",
    numerator_scale=8,
    denominator_scale=2,
    has_fraction=True,
    min_exchange_value=D(10),
    min_price=D(1),
    max_price=D(1000),
    minimum_limit_order_price=None,
    maximum_limit_order_price=None,
    status="TRADING",
    order_methods=("limit",),
)
# Wide open, so each test narrows only the cap it is about.
OPEN_LIMITS = RiskLimits(
    max_orders_per_cycle=100,
    max_open_orders_per_symbol=100,
    notional_cap_per_cycle=D(100_000),
    max_notional_per_order=D(100_000),
    min_order_notional=D(1),
    price_collar_pct=D(2),
)
RICH = {"TRY": D(1_000_000), "BTC": D(1000)}


def buy(qty: str, price: str = "100", cid: str = "c", symbol: str = "BTCTRY") -> OrderIntent:
    return OrderIntent(symbol, OrderSide.BUY, D(price), D(qty), cid)


def sell(qty: str, price: str = "100", cid: str = "c") -> OrderIntent:
    return OrderIntent("BTCTRY", OrderSide.SELL, D(price), D(qty), cid)


def inp(*intents: OrderIntent, symbol: str = "BTCTRY", rules: SymbolRules | None = RULES, ref: str | None = "100"):
    return RiskInput(symbol, intents, rules, None if ref is None else D(ref))


def judge(
    *inputs: RiskInput,
    live: Sequence[OrderRecord] = (),
    balances: Mapping[str, Decimal] | None = RICH,
    ks: bool = False,
    sm: bool = False,
    **limits: object,
) -> list[RiskVerdict]:
    return assess(
        inputs,
        limits=replace(OPEN_LIMITS, **limits),
        live_orders=live,
        free_balances=balances,
        kill_switch=ks,
        safe_mode_latched=sm,
    )


def one(*intents: OrderIntent, **kw: object) -> RiskVerdict:
    (verdict,) = judge(inp(*intents), **kw)  # type: ignore[arg-type]
    return verdict


def live_order(status: OrderStatus = OrderStatus.OPEN, symbol: str = "BTCTRY", cid: str = "live") -> OrderRecord:
    return OrderRecord(cid, symbol, OrderSide.BUY, OrderMethod.LIMIT, D(100), D(1), status, "r", 1, 0, 0, 30)


def approved_ids(v: RiskVerdict) -> list[str]:
    return [i.client_order_id for i in v.approved]


def codes(v: RiskVerdict) -> list[str]:
    return [r.reason_code for r in v.refused]


def why(v: RiskVerdict) -> str:
    """The first refusal's reason in words."""
    return dict(v.details)["why"]


class TestPerCycleCaps:
    def test_orders_per_cycle_at_the_limit_and_one_over(self) -> None:
        v = one(buy("1", cid="a"), buy("1", cid="b"), buy("1", cid="c"), max_orders_per_cycle=2)
        assert approved_ids(v) == ["a", "b"]
        assert v.refusal == rc.RISK_MAX_ORDERS_PER_CYCLE and why(v) == "limit=2"

    def test_orders_per_cycle_are_counted_across_symbols(self) -> None:
        a, b = judge(
            inp(buy("1", cid="a1"), buy("1", cid="a2")),
            inp(buy("1", cid="b1", symbol="ETHTRY"), symbol="ETHTRY"),
            max_orders_per_cycle=2,
        )
        assert approved_ids(a) == ["a1", "a2"] and a.refused == ()
        assert approved_ids(b) == [] and b.refusal == rc.RISK_MAX_ORDERS_PER_CYCLE

    def test_notional_per_cycle_exactly_at_the_cap_passes(self) -> None:
        v = one(buy("0.6", cid="a"), buy("0.4", cid="b"), notional_cap_per_cycle=D(100))
        assert approved_ids(v) == ["a", "b"] and v.refusal is None

    def test_notional_per_cycle_is_summed_across_intents(self) -> None:
        v = one(buy("0.6", cid="a"), buy("0.4001", cid="b"), notional_cap_per_cycle=D(100))
        assert approved_ids(v) == ["a"]
        assert v.refusal == rc.RISK_NOTIONAL_CAP_PER_CYCLE
        assert why(v) == "notional=40.0100 cap=100"

    def test_notional_per_cycle_accumulates_over_every_approved_intent_not_just_the_last(self) -> None:
        v = one(buy("0.4", cid="a"), buy("0.4", cid="b"), buy("0.3", cid="c"), notional_cap_per_cycle=D(100))
        assert approved_ids(v) == ["a", "b"] and v.refusal == rc.RISK_NOTIONAL_CAP_PER_CYCLE

    def test_notional_per_cycle_is_summed_across_symbols(self) -> None:
        a, b = judge(
            inp(buy("0.6", cid="a")),
            inp(buy("0.41", cid="b", symbol="ETHTRY"), symbol="ETHTRY"),
            notional_cap_per_cycle=D(100),
        )
        assert approved_ids(a) == ["a"] and approved_ids(b) == [] and b.refusal == rc.RISK_NOTIONAL_CAP_PER_CYCLE

    def test_a_single_intent_over_the_cycle_cap_is_refused(self) -> None:
        v = one(buy("1.0001"), notional_cap_per_cycle=D(100))
        assert v.refusal == rc.RISK_NOTIONAL_CAP_PER_CYCLE and v.approved == ()
        assert one(buy("1"), notional_cap_per_cycle=D(100)).refusal is None

    def test_a_refused_intent_spends_no_budget(self) -> None:
        v = one(
            buy("1", cid="big"),  # 100 TRY: over the per-order cap of 99
            buy("0.99", cid="a"),
            max_orders_per_cycle=1,
            notional_cap_per_cycle=D(150),
            max_notional_per_order=D(99),
            balances={"TRY": D("99.2376")},  # 99 TRY and the fee reserve
        )
        assert approved_ids(v) == ["a"] and v.refusal == rc.RISK_MAX_NOTIONAL_PER_ORDER


class TestPerSymbolCap:
    def test_open_orders_per_symbol_count_live_orders_and_this_cycles_approvals(self) -> None:
        v = one(buy("1", cid="a"), buy("1", cid="b"), live=[live_order()], max_open_orders_per_symbol=2)
        assert approved_ids(v) == ["a"] and v.refusal == rc.RISK_MAX_OPEN_ORDERS_PER_SYMBOL
        assert why(v) == "open=2 limit=2"

    def test_open_orders_at_the_limit_refuse_any_more(self) -> None:
        v = one(buy("1"), live=[live_order(cid="x"), live_order(cid="y")], max_open_orders_per_symbol=2)
        assert v.refusal == rc.RISK_MAX_OPEN_ORDERS_PER_SYMBOL and why(v) == "open=2 limit=2"

    def test_another_symbols_orders_do_not_count(self) -> None:
        v = one(buy("1"), live=[live_order(symbol="ETHTRY")], max_open_orders_per_symbol=1)
        assert approved_ids(v) == ["c"] and v.refusal is None


class TestPerIntentLimits:
    def test_notional_per_order_at_the_cap_and_a_kurus_over(self) -> None:
        assert one(buy("0.5"), max_notional_per_order=D(50)).refusal is None
        v = one(buy("0.5001"), max_notional_per_order=D(50))
        assert v.refusal == rc.RISK_MAX_NOTIONAL_PER_ORDER and why(v) == "notional=50.0100 cap=50"

    def test_our_minimum_notional_at_the_floor_and_a_kurus_under(self) -> None:
        assert one(buy("0.2"), min_order_notional=D(20)).refusal is None
        v = one(buy("0.1999"), min_order_notional=D(20))
        assert v.refusal == rc.RISK_MIN_NOTIONAL and why(v) == "notional=19.9900 min=20"

    def test_the_exchange_minimum_at_the_floor_and_a_kurus_under(self) -> None:
        rules = replace(RULES, min_exchange_value=D(25))
        assert judge(inp(buy("0.25"), rules=rules))[0].refusal is None
        (v,) = judge(inp(buy("0.2499"), rules=rules))
        assert v.refusal == rc.RISK_EXCHANGE_MIN_NOTIONAL
        assert why(v) == "notional=24.9900 exchange_min=25"

    @pytest.mark.parametrize("rules", [None, replace(RULES, status="HALTED")])
    def test_a_symbol_without_trading_rules_is_refused(self, rules: SymbolRules | None) -> None:
        (v,) = judge(inp(buy("1"), rules=rules))
        assert v.approved == () and codes(v) == [rc.RISK_SYMBOL_NOT_TRADABLE]
        assert why(v) == "symbol rules missing or not TRADING"

    @pytest.mark.parametrize("price", ["102", "98"])
    def test_price_collar_exactly_at_the_edge_passes(self, price: str) -> None:
        assert one(buy("0.5", price=price)).refusal is None

    @pytest.mark.parametrize("price", ["102.01", "97.99"])
    def test_price_collar_a_kurus_outside_is_rejected_never_clamped(self, price: str) -> None:
        v = one(buy("0.5", price=price))
        assert v.refusal == rc.RISK_PRICE_COLLAR and v.approved == ()
        assert why(v) == f"price={price} reference=100 collar_pct=2"

    def test_the_collar_is_the_operators_setting(self) -> None:
        assert one(buy("0.5", price="104"), price_collar_pct=D(4)).refusal is None
        assert one(buy("0.5", price="104.01"), price_collar_pct=D(4)).refusal == rc.RISK_PRICE_COLLAR

    def test_a_price_outside_the_venue_band_is_rejected_even_inside_the_collar(self) -> None:
        rules = replace(RULES, maximum_limit_order_price=D("101"))
        assert judge(inp(buy("0.5", price="101"), rules=rules))[0].refusal is None
        assert judge(inp(buy("0.5", price="101.01"), rules=rules))[0].refusal == rc.RISK_PRICE_COLLAR

    def test_a_reference_price_below_one_is_still_a_price(self) -> None:
        rules = replace(RULES, min_price=D("0.0001"), min_exchange_value=D("0.5"))
        (v,) = judge(inp(buy("1", price="0.5"), rules=rules, ref="0.5"), min_order_notional=D("0.5"))
        assert v.refusal is None

    @pytest.mark.parametrize("ref", [None, "0", "-1"])
    def test_no_usable_reference_price_is_a_collar_refusal(self, ref: str | None) -> None:
        (v,) = judge(inp(buy("0.5"), ref=ref))
        assert v.refusal == rc.RISK_PRICE_COLLAR and why(v) == "no reference price"


class TestBalance:
    def test_a_buy_may_spend_exactly_the_free_quote_balance_with_the_fee_the_venue_reserves(self) -> None:
        # The venue locks notional x (1 + taker fee) for a limit buy (API reference: a 50,000 TRY buy needs more free).
        assert one(buy("1"), balances={"TRY": D("100.24")}).refusal is None
        v = one(buy("1"), balances={"TRY": D("100.2399")})
        assert v.refusal == rc.RISK_INSUFFICIENT_BALANCE and why(v) == "asset=TRY need=100.2400 free=100.2399"

    def test_buys_are_summed_against_the_balance(self) -> None:
        v = one(buy("0.6", cid="a"), buy("0.4", cid="b"), buy("0.1", cid="c"), balances={"TRY": D("100.24")})
        assert approved_ids(v) == ["a", "b"] and v.refusal == rc.RISK_INSUFFICIENT_BALANCE
        assert why(v) == "asset=TRY need=10.02400 free=0.00000"

    def test_two_symbols_buying_with_the_same_try_share_it_fee_included(self) -> None:
        # 100 TRY free: a 60 TRY BTC buy reserves 60.144, so a 40 TRY ETH buy (40.096) no longer fits.
        eth = replace(RULES, symbol="ETHTRY", numerator="ETH")
        (btc_v, eth_v) = judge(
            inp(buy("0.6", cid="b")),
            inp(buy("0.4", cid="e", symbol="ETHTRY"), symbol="ETHTRY", rules=eth),
            balances={"TRY": D(100)},
        )
        assert approved_ids(btc_v) == ["b"] and eth_v.refusal == rc.RISK_INSUFFICIENT_BALANCE
        assert why(eth_v) == "asset=TRY need=40.09600 free=39.85600"

    def test_a_sell_may_sell_exactly_the_free_base_balance(self) -> None:
        assert one(sell("0.5"), balances={"BTC": D("0.5")}).refusal is None
        v = one(sell("0.50000001"), balances={"BTC": D("0.5")})
        assert v.refusal == rc.RISK_INSUFFICIENT_BALANCE
        assert why(v) == "asset=BTC need=0.50000001 free=0.5"

    def test_sells_are_summed_in_base_and_buys_in_quote_separately(self) -> None:
        balances = {"TRY": D("60.144"), "BTC": D("0.6")}
        v = one(buy("0.6", cid="b1"), sell("0.6", cid="s1"), sell("0.1", cid="s2"), balances=balances)
        assert approved_ids(v) == ["b1", "s1"] and v.refusal == rc.RISK_INSUFFICIENT_BALANCE

    def test_a_missing_asset_counts_as_zero(self) -> None:
        assert one(buy("1"), balances={"BTC": D(5)}).refusal == rc.RISK_INSUFFICIENT_BALANCE
        rules = replace(RULES, min_exchange_value=D("0.5"))
        (v,) = judge(
            inp(buy("0.01", price="50", cid="x"), rules=rules, ref="50"), balances={}, min_order_notional=D("0.5")
        )
        assert v.refusal == rc.RISK_INSUFFICIENT_BALANCE

    def test_sells_spend_base_quantity_not_quote_notional(self) -> None:
        v = one(sell("0.5", cid="s1"), sell("0.5", cid="s2"), balances={"BTC": D(1)})
        assert approved_ids(v) == ["s1", "s2"] and v.refusal is None

    def test_unknown_balances_skip_only_the_balance_check(self) -> None:
        assert one(buy("1000"), balances=None).refusal is None
        assert one(buy("1", price="103"), balances=None).refusal == rc.RISK_PRICE_COLLAR
        assert one(buy("1"), buy("1"), balances=None, max_orders_per_cycle=1).refusal == rc.RISK_MAX_ORDERS_PER_CYCLE


def live_sell(qty: str, cid: str = "ls") -> OrderRecord:
    return replace(live_order(cid=cid), side=OrderSide.SELL, quantity=D(qty))


CAP_ONE = (("*", D(1)),)


class TestPositionAndRun:
    def test_no_position_means_flat_and_the_cap_is_reachable_exactly(self) -> None:
        assert one(buy("1"), max_position_base=CAP_ONE).refusal is None
        (v,) = assess(
            [inp(buy("1"))],
            limits=replace(OPEN_LIMITS, max_position_base=CAP_ONE),
            live_orders=(),
            free_balances=RICH,
            kill_switch=False,
            safe_mode_latched=False,
            positions={"ETHTRY": D(5)},
        )
        assert v.refusal is None

    def test_buys_past_the_cap_name_the_projection(self) -> None:
        v = one(buy("0.6", cid="a"), buy("0.5", cid="b"), max_position_base=CAP_ONE)
        assert approved_ids(v) == ["a"] and codes(v) == [rc.RISK_MAX_POSITION]
        assert why(v) == "projected=1.1 cap=1"

    def test_sells_in_one_cycle_are_summed_against_minus_the_cap(self) -> None:
        assert one(sell("0.6", cid="a"), sell("0.4", cid="b"), max_position_base=CAP_ONE).refusal is None
        v = one(sell("0.6", cid="a"), sell("0.5", cid="b"), max_position_base=CAP_ONE)
        assert approved_ids(v) == ["a"] and codes(v) == [rc.RISK_MAX_POSITION]
        assert why(v) == "projected=-1.1 cap=-1"

    def test_resting_sells_count_on_the_short_side(self) -> None:
        assert one(sell("0.2"), live=[live_sell("0.8")], max_position_base=CAP_ONE).refusal is None
        v = one(sell("0.3"), live=[live_sell("0.8")], max_position_base=CAP_ONE)
        assert v.refusal == rc.RISK_MAX_POSITION and why(v) == "projected=-1.1 cap=-1"

    def test_the_run_cap_counts_earlier_orders_and_this_cycles(self) -> None:
        assert one(buy("1"), max_orders_per_run=1).refusal is None  # nothing placed before: the default
        v = one(buy("1", cid="a"), buy("1", cid="b"), max_orders_per_run=1)
        assert approved_ids(v) == ["a"] and why(v) == "placed=1 limit=1"


class TestGatesAndOrder:
    def test_kill_switch_then_safe_mode_refuse_every_symbol(self) -> None:
        verdicts = judge(inp(buy("1")), inp(buy("1", symbol="ETHTRY"), symbol="ETHTRY"), ks=True, sm=True)
        kill = (Refusal(rc.RISK_KILL_SWITCH),)
        assert verdicts == [RiskVerdict("BTCTRY", refused=kill), RiskVerdict("ETHTRY", refused=kill)]
        verdicts = judge(inp(buy("1")), inp(buy("1", symbol="ETHTRY"), symbol="ETHTRY"), sm=True)
        safe = (Refusal(rc.RISK_SAFE_MODE),)
        assert verdicts == [RiskVerdict("BTCTRY", refused=safe), RiskVerdict("ETHTRY", refused=safe)]

    def test_an_unknown_order_blocks_only_its_symbol_and_is_named(self) -> None:
        live = [live_order(OrderStatus.OPEN, cid="ok"), live_order(OrderStatus.UNKNOWN, cid="lost")]
        a, b = judge(inp(buy("1")), inp(buy("1", symbol="ETHTRY"), symbol="ETHTRY"), live=live)
        assert a == RiskVerdict("BTCTRY", refused=(Refusal(rc.RISK_UNKNOWN_ORDER, (("client_order_id", "lost"),)),))
        assert b.refusal is None and approved_ids(b) == ["c"]

    def test_every_refused_intent_is_recorded_with_its_order_and_later_intents_still_judged(self) -> None:
        tiny, ok, far = buy("0.05", cid="tiny"), buy("0.5", cid="ok"), buy("0.5", price="90", cid="far")
        v = one(tiny, ok, far, min_order_notional=D(10))
        assert approved_ids(v) == ["ok"]
        assert v.refused == (
            Refusal(
                rc.RISK_MIN_NOTIONAL,
                (
                    ("side", "buy"),
                    ("price", "100"),
                    ("quantity", "0.05"),
                    ("notional", "5.00"),
                    ("why", "notional=5.00 min=10"),
                ),
                tiny,
            ),
            Refusal(
                rc.RISK_PRICE_COLLAR,
                (
                    ("side", "buy"),
                    ("price", "90"),
                    ("quantity", "0.5"),
                    ("notional", "45.0"),
                    ("why", "price=90 reference=100 collar_pct=2"),
                ),
                far,
            ),
        )
        assert v.refusal == rc.RISK_MIN_NOTIONAL and v.details == v.refused[0].details

    def test_a_clean_verdict_has_no_details(self) -> None:
        assert one(buy("1")) == RiskVerdict("BTCTRY", (buy("1"),))
        assert one(buy("1")).refusal is None and one(buy("1")).details == ()


def test_limits_come_from_the_settings_one_for_one() -> None:
    settings = Settings(
        max_orders_per_cycle=3,
        max_open_orders_per_symbol=4,
        notional_cap_try_per_cycle=D(500),
        max_notional_per_order_try=D(200),
        min_order_notional_try=D(15),
        price_collar_pct=D("1.5"),
    )
    assert RiskLimits.from_settings(settings) == RiskLimits(3, 4, D(500), D(200), D(15), D("1.5"))
    capped = Settings(max_position_base="BTCTRY:0.01,ETHTRY:0.5")
    limits = RiskLimits.from_settings(capped, max_orders_per_run=1)
    assert (limits.max_position_base, limits.max_orders_per_run) == (
        (("BTCTRY", D("0.01")), ("ETHTRY", D("0.5"))),
        1,
    )
    assert (limits.position_cap("ETHTRY"), limits.position_cap("XRPTRY")) == (D("0.5"), None)
    every = RiskLimits.from_settings(Settings(max_position_base="0.2"))
    assert (every.position_cap("BTCTRY"), every.position_cap("XRPTRY")) == (D("0.2"), D("0.2"))


def test_a_pair_not_quoted_in_try_is_refused_whatever_its_notional() -> None:
    # 0.5 BTC of ETH would pass a 150 TRY cap if its notional (in BTC) were compared with the TRY caps.
    ethbtc = replace(RULES, symbol="ETHBTC", numerator="ETH", denominator="BTC")
    intent = OrderIntent("ETHBTC", OrderSide.BUY, D("0.05"), D("10"), "c")
    (verdict,) = judge(
        inp(intent, symbol="ETHBTC", rules=ethbtc, ref="0.05"),
        notional_cap_per_cycle=D(150),
        max_notional_per_order=D(150),
        min_order_notional=D("0.1"),
    )
    assert verdict.approved == ()
    assert [(r.reason_code, dict(r.details)["why"]) for r in verdict.refused] == [
        (rc.RISK_QUOTE_NOT_TRY, "quote=BTC caps_in=TRY")
    ]
