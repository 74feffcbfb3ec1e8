"""A strategy inside the real actor graph (in-memory venue, virtual time): its cancels go through the arming
chokepoint, a replacement waits for its cancel, observe-only records what it would cancel, an orphan is not its
to touch, and a strategy that breaks latches safe mode instead of trading."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path

from btcbot import reason_codes as rc
from btcbot.arming import ArmingGate
from btcbot.domain.clock import VirtualClock
from btcbot.domain.orders import owned_prefix
from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, run_session
from btcbot.settings import Settings
from btcbot.storage import StateStore
from btcbot.strategy import MarketView, OrderSide, Strategy, StrategyConfig, Wanted, WantedOrder
from btcbot.testing.runtime_fakes import FakeVenue

ARMED = {
    "live_trading": True,
    "live_trading_ack": "I_UNDERSTAND",
    "dry_run": False,
    "kill_switch": False,
    "safe_mode": False,
    "btcturk_api_key": "k",
    "btcturk_api_secret": "c2VjcmV0",  # base64, as BTCTurk secrets are
    "account_scope": "graph",
}
BUY_LOW = WantedOrder(OrderSide.BUY, Decimal(1_990_000), Decimal("0.00006"))
BUY_HIGHER = WantedOrder(OrderSide.BUY, Decimal(1_991_000), Decimal("0.00006"))


class Scripted(Strategy[StrategyConfig]):
    """Wants ``script[cycle - 1]`` (the last entry from then on) and remembers every view it was given."""

    def __init__(self, script: list[object]) -> None:
        super().__init__(StrategyConfig())
        self.script = script
        self.views: list[MarketView] = []

    def decide(self, view: MarketView) -> Wanted:
        self.views.append(view)
        step = self.script[min(view.cycle_id, len(self.script)) - 1]
        if isinstance(step, Exception):
            raise step
        return step  # type: ignore[return-value]


def session(
    tmp_path: Path, strategy: Strategy, venue: FakeVenue | None = None, *, cycles: int, dry_run=False, ttl=3600, **opts
):
    settings = Settings(**ARMED, state_db_path=tmp_path / "s.db", ttl_seconds=ttl, reconcile_min_interval_ms=0)
    clock = VirtualClock()
    venue = venue or FakeVenue(clock)
    venue.clock = clock
    store = StateStore(settings.state_db_path)
    deps = RuntimeDeps(
        settings=settings,
        gate=ArmingGate.from_settings(settings, cli_dry_run=dry_run),
        clock=clock,
        market_data=venue,
        reader=venue,
        gateway=venue,
        store=store,
        strategy=strategy,
    )
    result = run_session(RuntimeOptions(max_cycles=cycles, cycle_seconds=1.0, cancel_on_exit=False, **opts), deps)
    rows = store.query(
        "SELECT cycle_id, action, reason_code, client_order_id, details FROM decisions "
        "WHERE symbol <> '*' ORDER BY cycle_id, decision_id"
    )
    return result, venue, rows, deps


def no_actor_threads() -> bool:
    return not [t for t in threading.enumerate() if "Actor" in t.name and t.is_alive()]


def test_an_order_no_longer_wanted_is_cancelled_through_the_chokepoint(tmp_path: Path) -> None:
    result, venue, rows, _ = session(tmp_path, Scripted([Wanted.of(BUY_LOW), Wanted.none("done")]), cycles=3)
    assert result.exit_code == 0 and venue.write_attempts == ["submit", "cancel"]
    assert [r[2] for r in rows] == [rc.ORDER_SUBMITTED, rc.ORDER_REPLACE_CANCEL, rc.STRATEGY_NO_INTENT]
    assert rows[1][1] == "cancel" and rows[1][3] == rows[0][3]  # the cancel names the order it cancelled


def test_a_replacement_waits_for_the_cancel_of_the_order_it_replaces(tmp_path: Path) -> None:
    strategy = Scripted([Wanted.of(BUY_LOW), Wanted.of(BUY_HIGHER)])
    _result, venue, rows, _ = session(tmp_path, strategy, cycles=4)
    assert venue.write_attempts == ["submit", "cancel", "submit"]
    assert [r[2] for r in rows] == [
        rc.ORDER_SUBMITTED,
        rc.ORDER_REPLACE_CANCEL,  # cycle 2: the old order goes; the new one is deferred
        rc.ORDER_SUBMITTED,  # cycle 3: the cancel is confirmed, the new one goes out
        rc.STRATEGY_ORDER_ACTIVE,
    ]
    assert [o.price for o in strategy.views[-1].orders] == [BUY_HIGHER.price]


def test_observe_only_records_the_cancel_it_would_send_and_sends_nothing(tmp_path: Path) -> None:
    _, venue, _, _ = session(tmp_path, Scripted([Wanted.of(BUY_LOW)]), cycles=1)
    assert venue.write_attempts == ["submit"]  # left resting (no cancel on exit)
    _result, venue, rows, _ = session(tmp_path, Scripted([Wanted.none("flat")]), venue, cycles=1, dry_run=True)
    assert venue.write_attempts == ["submit"]
    (row,) = [r for r in rows if r[0] == 1 and r[2] != rc.ORDER_SUBMITTED]
    assert row[1:3] == ("would_cancel", rc.DRY_RUN_WOULD_CANCEL)


def test_an_adopted_orphan_is_neither_shown_to_the_strategy_nor_cancelled_by_it(tmp_path: Path) -> None:
    venue = FakeVenue(VirtualClock())
    venue.place_foreign("BTCTRY", owned_prefix("graph") + "elsewhere", Decimal(1_980_000), Decimal("0.00006"))
    strategy = Scripted([Wanted.none("flat")])
    _result, venue, rows, _ = session(tmp_path, strategy, venue, cycles=3)
    assert venue.write_attempts == []
    assert all(v.orders == () for v in strategy.views)
    assert rc.ORDER_REPLACE_CANCEL not in {r[2] for r in rows}


def test_a_strategy_that_raises_latches_safe_mode_and_sends_nothing(tmp_path: Path) -> None:
    result, venue, _rows, deps = session(tmp_path, Scripted([RuntimeError("bug in decide")]), cycles=3)
    assert deps.gate.safe_mode_cause == "actor_failure:strategy"
    assert result.exit_code == 1 and venue.write_attempts == [] and no_actor_threads()


def test_a_strategy_that_returns_something_else_is_an_actor_failure(tmp_path: Path) -> None:
    result, venue, _, deps = session(tmp_path, Scripted([[BUY_LOW]]), cycles=2)
    assert deps.gate.safe_mode_cause == "actor_failure:strategy"
    assert result.exit_code == 1 and venue.write_attempts == []


CANARY_ONCE = {"command": "canary_once", "until_idle": True, "max_orders": 1}


def test_canary_once_waits_for_the_strategy_places_one_order_and_stops_when_it_is_done(tmp_path: Path) -> None:
    script = [Wanted.none("wait"), Wanted.none("wait"), Wanted.of(BUY_LOW, BUY_HIGHER), Wanted.none("done")]
    result, venue, rows, _ = session(tmp_path, Scripted(script), cycles=30, **CANARY_ONCE)
    assert result.exit_code == 0 and venue.write_attempts == ["submit", "cancel"]
    codes = [r[2] for r in rows]
    assert codes[:2] == [rc.STRATEGY_NO_INTENT] * 2
    assert codes[2:4] == [rc.ORDER_SUBMITTED, rc.RISK_MAX_ORDERS_PER_RUN]  # the second order of cycle 3
    assert result.summary.cycles == 4  # cycle 4 cancels it and reconciles the cancel: the run is over


def test_canary_once_whose_strategy_never_wants_an_order_ends_as_an_anomaly(tmp_path: Path) -> None:
    result, venue, _rows, _ = session(tmp_path, Scripted([Wanted.none("never")]), cycles=3, **CANARY_ONCE)
    assert result.exit_code == 1 and venue.write_attempts == [] and result.summary.cycles == 3
    assert any("canary" in line and "placed" in line for line in result.summary.lines()), result.summary.lines()


def test_a_ttl_cancel_on_a_stale_symbol_stays_in_the_block_record_so_the_stale_streak_counts(tmp_path: Path) -> None:
    venue = FakeVenue(VirtualClock())

    class GoesStale(Scripted):
        def decide(self, view: MarketView) -> Wanted:
            venue.faults.stale_ms = 60_000  # every later book is stale: the strategy is not asked again
            return super().decide(view)

    _, venue, rows, deps = session(tmp_path, GoesStale([Wanted.of(BUY_LOW)]), venue, cycles=6, ttl=2)
    assert venue.write_attempts == ["submit", "cancel"]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]  # one record per cycle
    assert {r[2] for r in rows[1:]} == {rc.MARKET_DATA_STALE}
    assert any(json.loads(r[4]).get("ttl_cancel") == rows[0][3] for r in rows[1:])
    assert deps.gate.safe_mode_cause == "stale_market_data"


def test_a_strategy_that_calls_sys_exit_is_an_actor_failure_not_a_silent_stop_of_every_actor(tmp_path: Path) -> None:
    # Pykka stops every actor without a report on anything that is not an Exception: the run would wait out the
    # cycle timeout and latch safe mode for "cycle_timeout", naming no one.
    class Exits(Strategy[StrategyConfig]):
        def decide(self, view: MarketView) -> Wanted:
            raise SystemExit(0)

    result, venue, rows, deps = session(tmp_path, Exits.from_params(), cycles=2, cycle_timeout_s=5.0)
    assert deps.gate.safe_mode_cause == "actor_failure:strategy"
    assert result.exit_code == 1 and venue.write_attempts == [] and no_actor_threads()
    assert [r[2] for r in rows] == [rc.SUPERVISOR_CYCLE_ABORTED] * 2


def test_the_strategys_reason_is_recorded_but_not_without_bound(tmp_path: Path) -> None:
    from btcbot.runtime.strategy import MAX_REASON_CHARS

    _, _, rows, _ = session(tmp_path, Scripted([Wanted.none("why " * 10_000)]), cycles=1)
    assert json.loads(rows[0][4])["why"] == ("why " * 10_000)[:MAX_REASON_CHARS]


def test_decide_has_a_decimal_context_of_its_own(view) -> None:
    from decimal import getcontext

    from btcbot.runtime.strategy import ask

    class LowPrecision(Strategy[StrategyConfig]):
        def decide(self, view: MarketView) -> Wanted:
            getcontext().prec = 4  # fine for its own arithmetic; must not round the runtime's afterwards
            return Wanted.of(WantedOrder(OrderSide.BUY, view.mid - 1000, Decimal("0.00006")))

    before = getcontext().prec
    wanted = ask(LowPrecision.from_params(), view())
    assert str(wanted.orders[0].price) == "1.999E+6"  # its own arithmetic ran at its precision
    assert getcontext().prec == before  # at 4, putting a price of 1999001 on the grid would raise


def test_orders_of_a_decide_slower_than_the_book_may_age_are_not_acted_on(tmp_path: Path) -> None:
    # The freshness guard judged the book before decide; the collar and the price would otherwise rest on a book
    # that went stale while the strategy thought.
    venue = FakeVenue(VirtualClock())
    max_age = Settings(**ARMED, state_db_path=tmp_path / "unused.db").max_market_data_age_ms

    class Slow(Scripted):
        def decide(self, view: MarketView) -> Wanted:
            venue.clock.advance_ms(max_age + 1 if view.cycle_id == 1 else max_age // 2)
            return super().decide(view)

    _, venue, rows, _ = session(tmp_path, Slow([Wanted.of(BUY_LOW)]), venue, cycles=2)
    assert [r[:3] for r in rows] == [(1, "refuse", rc.STRATEGY_TOO_SLOW), (2, "submit", rc.ORDER_SUBMITTED)]
    assert json.loads(rows[0][4])["max_age_ms"] == str(max_age)
    assert venue.write_attempts == ["submit"]  # cycle 2's decide stayed within the age: its order went
