"""The runtime's pure decisions, without threads or a venue."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.domain.orders import OrderIntent, OrderMethod, OrderSide, OrderStatus, VenueOrder, VenueOrderStatus
from btcbot.errors import InvariantViolation
from btcbot.runtime.cycle import CycleContext
from btcbot.runtime.freshness import assess_book
from btcbot.runtime.lifecycle import OrderRecord, advance, new_intent_record, order_row
from btcbot.runtime.reconcile import needs_lookup, reconcile
from btcbot.runtime.risk_gate import RiskInput, RiskLimits, assess
from btcbot.runtime.strategy import ask, build_view, plan, strategy_limits
from btcbot.runtime.supervision import MonitorLimits, RestartBudget, SafeModeMonitor, p95
from btcbot.strategies.canary import CanaryStrategy
from btcbot.testing.runtime_fakes import btctry_rules

NOW_MS = 1_700_000_000_000
NOW_NS = 5_000_000_000_000


def book(bid="2000000", ask="2001000", *, ex_age_ms=0, local_age_ms=0, ts=True) -> BookSnapshot:
    return BookSnapshot(
        symbol="BTCTRY",
        bids=(PriceLevel(Decimal(bid), Decimal(1)),) if bid is not None else (),
        asks=(PriceLevel(Decimal(ask), Decimal(1)),),
        exchange_ts_ms=NOW_MS - ex_age_ms if ts else None,
        received_monotonic_ns=NOW_NS - local_age_ms * 1_000_000,
        received_wall_ms=NOW_MS - local_age_ms,
        source="rest",
    )


def judge(b):
    return assess_book(b, now_wall_ms=NOW_MS, now_monotonic_ns=NOW_NS, max_age_ms=1000)


class TestFreshness:
    def test_fresh_book_passes(self):
        v = judge(book(ex_age_ms=10, local_age_ms=5))
        assert v.ok and v.reason_code is None and v.age_ms == 10

    @pytest.mark.parametrize(("ex", "local"), [(1500, 0), (0, 1500)])
    def test_stale_by_either_clock(self, ex, local):
        assert judge(book(ex_age_ms=ex, local_age_ms=local)).reason_code == rc.MARKET_DATA_STALE

    def test_ws_book_without_exchange_ts_uses_local_age(self):
        assert judge(book(ts=False, local_age_ms=2000)).reason_code == rc.MARKET_DATA_STALE
        assert judge(book(ts=False, local_age_ms=10)).ok

    @pytest.mark.parametrize(("bid", "ask"), [("0", "10"), (None, "10"), ("10", "10"), ("11", "10")])
    def test_invalid_books(self, bid, ask):
        v = judge(book(bid, ask))
        assert v.reason_code == rc.MARKET_DATA_INVALID_BOOK and v.invalid_book

    def test_no_book_is_unavailable(self):
        assert judge(None).reason_code == rc.MARKET_DATA_UNAVAILABLE


LIMITS = RiskLimits(1, 1, Decimal(150), Decimal(150), Decimal(10), Decimal(2))


def canary(**params):
    return CanaryStrategy.from_params(**{"notional_try": Decimal(150), "offset_bps": Decimal(20), **params})


def proposal(strategy, live=(), cycle_id=1):
    """The strategy step of one cycle, as the strategy actor runs it."""
    ctx = CycleContext("run1", cycle_id, "cycle", ("BTCTRY",), NOW_MS, NOW_NS, None, live_orders=tuple(live))
    rules = btctry_rules()
    limits = strategy_limits(LIMITS, "BTCTRY")
    view = build_view(ctx, book(), rules, limits, orders=ctx.live_on("BTCTRY"), balances=None)
    return plan(ask(strategy, view), ctx.live_on("BTCTRY"), rules, ctx=ctx, scope="scope")


class TestCanary:
    def test_passive_buy_below_bid_sized_to_notional(self):
        p = proposal(canary())
        (intent,) = p.intents
        assert intent.side is OrderSide.BUY and intent.price == Decimal(1996000)  # 20 bps under 2,000,000
        assert intent.quantity == Decimal("0.00007515") and intent.notional <= 150
        assert intent.client_order_id == proposal(canary()).intents[0].client_order_id

    def test_one_at_a_time_and_once(self):
        rec = new_intent_record(
            OrderIntent("BTCTRY", OrderSide.BUY, Decimal(1), Decimal(1), "c1"),
            run_id="r",
            cycle_id=1,
            now_ms=NOW_MS,
            ttl_seconds=30,
            decision_id="d",
        )
        active = proposal(canary(), [rec])
        assert active.skip_reason == rc.STRATEGY_ORDER_ACTIVE and active.cancels == () and active.intents == ()
        assert dict(active.details)["client_order_id"] == "c1"
        cancelling = proposal(canary(), [replace(rec, status=OrderStatus.CANCEL_PENDING, exchange_order_id=5)])
        assert cancelling.skip_reason == rc.STRATEGY_ORDER_ACTIVE and cancelling.intents == ()
        done = proposal(canary(first_cycle_only=True), cycle_id=2)
        assert done.skip_reason == rc.STRATEGY_NO_INTENT and dict(done.details) == {"why": "canary_once_done"}

    def test_size_rounding_to_zero_is_no_intent(self):
        p = proposal(canary(notional_try=Decimal("0.0001")))
        assert p.skip_reason == rc.STRATEGY_NO_INTENT and dict(p.details) == {"why": "size_rounds_to_zero"}




def intent(price="1996000", qty="0.00007", cid="c1", side=OrderSide.BUY):
    return OrderIntent("BTCTRY", side, Decimal(price), Decimal(qty), cid)


def gate(intents, *, limits=LIMITS, live=(), balances=None, ks=False, sm=False, ref=Decimal(2000500)):
    return assess(
        [RiskInput("BTCTRY", tuple(intents), btctry_rules(), ref)],
        limits=limits,
        live_orders=live,
        free_balances=balances if balances is not None else {"TRY": Decimal(10_000), "BTC": Decimal(1)},
        kill_switch=ks,
        safe_mode_latched=sm,
    )[0]


class TestRiskGate:
    def test_approves_a_sound_intent(self):
        v = gate([intent()])
        assert v.refusal is None and len(v.approved) == 1

    def test_order_of_checks(self):
        unknown = replace(
            new_intent_record(intent(), run_id="r", cycle_id=1, now_ms=NOW_MS, ttl_seconds=30, decision_id="d"),
            status=OrderStatus.UNKNOWN,
        )
        assert gate([intent()], ks=True, sm=True).refusal == rc.RISK_KILL_SWITCH
        assert gate([intent()], sm=True, live=[unknown]).refusal == rc.RISK_SAFE_MODE
        assert gate([intent()], live=[unknown]).refusal == rc.RISK_UNKNOWN_ORDER

    @pytest.mark.parametrize(
        ("intents", "limits", "balances", "code"),
        [
            ([intent(), intent(cid="c2")], None, None, rc.RISK_MAX_ORDERS_PER_CYCLE),
            (
                [intent(qty="0.0001")],
                RiskLimits(5, 5, Decimal(150), Decimal(300), Decimal(10), Decimal(2)),
                None,
                rc.RISK_NOTIONAL_CAP_PER_CYCLE,
            ),
            (
                [intent(qty="0.0001")],
                RiskLimits(5, 5, Decimal(300), Decimal(150), Decimal(10), Decimal(2)),
                None,
                rc.RISK_MAX_NOTIONAL_PER_ORDER,
            ),
            ([intent(qty="0.000004")], None, None, rc.RISK_MIN_NOTIONAL),
            ([intent(qty="0.00004")], None, None, rc.RISK_EXCHANGE_MIN_NOTIONAL),
            ([intent(price="1900000")], None, None, rc.RISK_PRICE_COLLAR),
            ([intent()], None, {"TRY": Decimal(100)}, rc.RISK_INSUFFICIENT_BALANCE),
            (
                [intent(side=OrderSide.SELL, price="2001000")],
                None,
                {"BTC": Decimal("0.00001")},
                rc.RISK_INSUFFICIENT_BALANCE,
            ),
        ],
    )
    def test_each_refusal_has_its_code(self, intents, limits, balances, code):
        v = gate(intents, limits=limits or LIMITS, balances=balances)
        assert v.refusal == code

    def test_collar_rejects_never_clamps(self):
        v = gate([intent(price="2100000")])
        assert v.refusal == rc.RISK_PRICE_COLLAR and v.approved == ()

    def test_open_orders_cap(self):
        live = new_intent_record(intent(), run_id="r", cycle_id=1, now_ms=NOW_MS, ttl_seconds=30, decision_id="d")
        assert gate([intent(cid="c2")], live=[replace(live, status=OrderStatus.OPEN)]).refusal == (
            rc.RISK_MAX_OPEN_ORDERS_PER_SYMBOL
        )


def record(status=OrderStatus.OPEN, xid=1, cid="btcbot-s-1", created=NOW_MS):
    r = OrderRecord(
        cid,
        "BTCTRY",
        OrderSide.BUY,
        OrderMethod.LIMIT,
        Decimal(100),
        Decimal(1),
        OrderStatus.INTENT,
        "r",
        1,
        created,
        created,
        30,
    )
    return replace(r, status=status, exchange_order_id=xid)


def venue(xid=1, cid="btcbot-s-1", status=VenueOrderStatus.UNTOUCHED, left="1"):
    return VenueOrder(
        xid,
        cid,
        "BTCTRY",
        OrderSide.BUY,
        OrderMethod.LIMIT,
        Decimal(100),
        Decimal(1),
        Decimal(left),
        status,
        NOW_MS,
        NOW_MS,
    )


def rec_(records, open_=(), lookups=None, known=None, now=NOW_MS + 10):
    return reconcile(
        records,
        venue_open=list(open_),
        lookups=lookups or {},
        owned_prefixes=("btcbot-s-",),
        known_client_ids=frozenset(known if known is not None else [r.client_order_id for r in records]),
        now_ms=now,
        run_id="r2",
        cycle_id=3,
        default_ttl_seconds=30,
    )


class TestLifecycleAndReconcile:
    def test_illegal_transition_raises(self):
        with pytest.raises(InvariantViolation):
            advance(record(OrderStatus.FILLED), OrderStatus.CANCELLED, NOW_MS)

    def test_order_row_round_trip_fields(self):
        row = order_row(record())
        assert row["status"] == "OPEN" and row["created_at"].tzinfo is not None

    def test_unknown_resolved_by_client_id(self):
        r = record(OrderStatus.UNKNOWN, xid=None)
        assert needs_lookup([r], []) == [r]
        out = rec_([r], lookups={r.client_order_id: venue(xid=77)})
        (u,) = out.updates
        assert u.event == "resolved" and u.record.status is OrderStatus.OPEN and u.record.exchange_order_id == 77
        assert out.alerts[0].reason_code == rc.RECONCILE_UNKNOWN_RESOLVED

    def test_fill_and_cancel_confirmation(self):
        assert (
            rec_([record()], lookups={"btcbot-s-1": venue(status=VenueOrderStatus.CLOSED, left="0")})
            .updates[0]
            .record.status
            is OrderStatus.FILLED
        )
        pending = record(OrderStatus.CANCEL_PENDING)
        assert rec_([pending], open_=[venue()]).updates == ()  # still resting: stays CANCEL_PENDING
        out = rec_([pending], lookups={"btcbot-s-1": venue(status=VenueOrderStatus.CANCELED)})
        assert out.updates[0].record.status is OrderStatus.CANCELLED

    def test_orphans_with_our_prefix_are_adopted_and_foreign_orders_ignored(self):
        out = rec_([], open_=[venue(xid=5, cid="btcbot-s-x"), venue(xid=6, cid="manual-1"), venue(xid=7, cid=None)])
        assert [a.client_order_id for a in out.adopted] == ["btcbot-s-x"]
        assert out.alerts[0].reason_code == rc.RECONCILE_ORPHAN_FOUND


class TestSupervision:
    def test_restart_budget_and_window(self):
        b = RestartBudget(2, 1000)
        assert b.allow(0) and b.allow(10) and not b.allow(20)
        assert b.allow(1011)

    def test_stale_streak_escalates(self):
        m = SafeModeMonitor(MonitorLimits(3, 60_000, Decimal("0.2"), Decimal(1500)))
        for _ in range(2):
            assert m.observe_cycle({"BTCTRY": rc.MARKET_DATA_STALE}, [], NOW_MS) is None
        assert m.observe_cycle({"BTCTRY": rc.MARKET_DATA_STALE}, [], NOW_MS).cause == "stale_market_data"
        m2 = SafeModeMonitor(MonitorLimits(2, 60_000, Decimal("0.2"), Decimal(1500)))
        m2.observe_cycle({"BTCTRY": rc.MARKET_DATA_STALE}, [], NOW_MS)
        assert m2.observe_cycle({"BTCTRY": rc.CYCLE_OK}, [], NOW_MS) is None  # the streak was broken

    def test_blind_cycles_of_every_kind_escalate_like_stale_ones(self):
        m = SafeModeMonitor(MonitorLimits(3, 60_000, Decimal("0.2"), Decimal(1500)))
        assert m.observe_cycle({"BTCTRY": rc.MARKET_DATA_UNAVAILABLE, "ETHTRY": rc.CYCLE_OK}, [], NOW_MS) is None
        assert m.observe_cycle({"BTCTRY": rc.MARKET_DATA_INVALID_BOOK, "ETHTRY": rc.CYCLE_OK}, [], NOW_MS) is None
        esc = m.observe_cycle({"BTCTRY": rc.MARKET_DATA_UNAVAILABLE, "ETHTRY": rc.CYCLE_OK}, [], NOW_MS)
        assert esc.cause == "stale_market_data"
        assert "BTCTRY: 3 consecutive cycles" in esc.detail
        assert "market_data:invalid_book=1,market_data:unavailable=2" in esc.detail
        m2 = SafeModeMonitor(MonitorLimits(2, 60_000, Decimal("0.2"), Decimal(1500)))
        m2.observe_cycle({"BTCTRY": rc.MARKET_DATA_UNAVAILABLE}, [], NOW_MS)
        assert m2.observe_cycle({"BTCTRY": rc.DRY_RUN_WOULD_SUBMIT}, [], NOW_MS) is None  # fresh data breaks it
        assert m2.observe_cycle({"BTCTRY": rc.MARKET_DATA_INVALID_BOOK}, [], NOW_MS) is None

    def test_unknown_age_reject_rate_and_latency(self):
        lim = MonitorLimits(3, 1000, Decimal("0.2"), Decimal(100))
        unknown = replace(record(OrderStatus.UNKNOWN), unknown_since_ms=NOW_MS)
        assert SafeModeMonitor(lim).observe_cycle({}, [unknown], NOW_MS + 500) is None
        assert SafeModeMonitor(lim).observe_cycle({}, [unknown], NOW_MS + 1500).cause == "unknown_order_unresolved"
        assert SafeModeMonitor(lim).observe_cycle({}, [], NOW_MS, submitted=5, rejected=2).cause == "reject_rate"
        assert SafeModeMonitor(lim).observe_cycle({}, [], NOW_MS, submitted=1, rejected=1) is None  # tiny sample
        slow = SafeModeMonitor(lim).observe_cycle({}, [], NOW_MS, latencies_ms=[10, 10, 10, 200, 300])
        assert slow.cause == "order_latency"
        assert p95([1.0, 2.0, 3.0]) == 3.0 and p95([]) is None


def test_unknown_balances_skip_only_the_balance_check():
    v = assess([RiskInput("BTCTRY", (intent(),), btctry_rules(), Decimal(2000500))], limits=LIMITS, live_orders=[],
               free_balances=None, kill_switch=False, safe_mode_latched=False)[0]  # fmt: skip
    assert v.refusal is None
    v = assess([RiskInput("BTCTRY", (intent(price="1900000"),), btctry_rules(), Decimal(2000500))], limits=LIMITS,
               live_orders=[], free_balances=None, kill_switch=False, safe_mode_latched=False)[0]  # fmt: skip
    assert v.refusal == rc.RISK_PRICE_COLLAR
