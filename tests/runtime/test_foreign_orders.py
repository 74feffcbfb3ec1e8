"""One bot per account at the venue: orders of this scope that this DB never placed, key rotation, legacy prefix.

In-process sessions against the simulator over loopback; "another instance" is a second session with its own DB.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from btcbot import reason_codes as rc
from btcbot.arming import ArmingGate
from btcbot.domain.account_scope import legacy_key_scope
from btcbot.domain.orders import OrderIntent, OrderSide, OrderStatus, VenueOrder, VenueOrderStatus, client_order_id
from btcbot.errors import TransientError
from btcbot.exchange.btcturk import BtcturkExchange
from btcbot.runtime.lifecycle import advance, new_intent_record, order_row
from btcbot.runtime.session import RuntimeOptions
from btcbot.settings import Settings
from btcbot.sim.auth import Credential
from btcbot.storage import StateStore
from btcbot.strategies.canary import CanaryStrategy

pytestmark = pytest.mark.integration

FAR_BELOW = Decimal(1_000_000)  # a resting buy far under the simulator's BTCTRY market: it never fills


def _loop(max_cycles: int = 2, **kw: Any) -> RuntimeOptions:
    return RuntimeOptions(command="canary_loop", max_cycles=max_cycles, cycle_seconds=0.05, **kw)


def _instance(harness: Any, name: str, **overrides: Any) -> Settings:
    """An armed instance of the one simulator account with its own state DB (another directory or host)."""
    base: dict[str, Any] = {"ttl_seconds": 60, "cancel_open_orders_on_stop": False}
    return harness.armed(state_db_path=harness.tmp_path / name / "btcbot_state.db", **{**base, **overrides})


def _place(settings: Settings, cid: str) -> VenueOrder:
    ex = BtcturkExchange.from_settings(settings)
    try:
        ack = ex.submit_order(
            OrderIntent("BTCTRY", OrderSide.BUY, FAR_BELOW, Decimal("0.0002"), cid),
            ArmingGate.from_settings(settings).submit_token(),
        )
        return next(o for o in ex.open_orders("BTCTRY") if o.exchange_order_id == ack.exchange_order_id)
    finally:
        ex.close()


def _remember(settings: Settings, order: VenueOrder, status: OrderStatus) -> None:
    """Write the order into this instance's DB as an earlier run of it would have left it."""
    intent = OrderIntent(order.symbol, order.side, order.price, order.quantity, str(order.client_order_id))
    record = new_intent_record(intent, run_id="earlier", cycle_id=1, now_ms=order.created_ms, ttl_seconds=60,
                               decision_id="earlier:1:BTCTRY")  # fmt: skip
    record = advance(record, status, order.created_ms, exchange_order_id=order.exchange_order_id)
    store = StateStore(settings.state_db_path)
    store.upsert_order(order_row(record))
    store.close()


def _posts(harness: Any) -> list[dict[str, Any]]:
    return [w for w in harness.writes() if w["method"] == "POST"]


def test_another_instance_with_another_db_is_refused_before_anything_is_sent(harness: Any) -> None:
    a = _instance(harness, "host-a")
    first = harness.run(a, _loop(max_cycles=1))
    ((cid, xid),) = first.rows("SELECT client_order_id, exchange_order_id FROM orders WHERE status = 'OPEN'")

    b = _instance(harness, "host-b")
    second = harness.run(b, _loop())
    assert second.result.exit_code == 2
    refusal = second.result.refusal or ""
    assert f"{cid} (exchange id {xid}, BTCTRY)" in refusal and "--adopt-foreign-orders" in refusal
    assert "another btcbot instance" in refusal and "different state DB" in refusal
    assert len(_posts(harness)) == 1 and not [w for w in harness.writes() if w["method"] == "DELETE"]
    run_id = second.result.summary.run_id
    decisions = second.rows("SELECT mode, action, reason_code, details FROM decisions WHERE run_id = ?", [run_id])
    assert [(d[0], d[1], d[2]) for d in decisions] == [("live", "refuse", rc.LOCK_FOREIGN_ORDERS)]
    assert cid in decisions[0][3]
    assert second.rows("SELECT kind, severity FROM alerts WHERE run_id = ?", [run_id]) == [
        ("foreign_orders", "critical")
    ]
    assert second.rows("SELECT count(*) FROM orders") == [(0,)]  # not adopted: a refused start owns nothing
    assert second.rows("SELECT exit_code FROM runs") == [(2,)]
    assert harness.no_actor_threads()


def test_observe_only_reports_foreign_orders_without_adopting_them(harness: Any) -> None:
    harness.run(_instance(harness, "host-a"), _loop(max_cycles=1))
    observer = harness.run(_instance(harness, "host-b"), _loop(), cli_dry_run=True)
    assert observer.result.exit_code == 1 and observer.result.refusal is None
    assert observer.result.summary.cycles == 2  # it carries on observing
    codes = observer.rows("SELECT mode, reason_code FROM decisions WHERE reason_code = ?", [rc.LOCK_FOREIGN_ORDERS])
    assert codes == [("observe", rc.LOCK_FOREIGN_ORDERS)]  # once, not once per cycle
    assert observer.rows("SELECT count(*) FROM orders") == [(0,)]  # never laundered into "known" by a dry run
    assert len(_posts(harness)) == 1


def test_with_the_adoption_flag_the_orders_are_adopted_and_managed(harness: Any) -> None:
    first = harness.run(_instance(harness, "host-a"), _loop(max_cycles=1))
    ((cid, xid),) = first.rows("SELECT client_order_id, exchange_order_id FROM orders WHERE status = 'OPEN'")
    b = _instance(harness, "host-b", ttl_seconds=1)
    # Runs until nothing of this scope is live: the adopted order must be managed (its TTL) for that to happen.
    options = RuntimeOptions(
        command="canary_loop", max_cycles=200, cycle_seconds=0.05, until_idle=True, adopt_foreign_orders=True
    )
    strategy = CanaryStrategy.from_params(
        notional_try=Decimal(150), offset_bps=b.canary_offset_bps, first_cycle_only=True
    )
    adopting = harness.run(b, options, strategy=strategy)
    assert adopting.result.exit_code == 1 and adopting.result.summary.orphans == 1  # adopted, and reported
    assert len(_posts(harness)) == 1  # its order covered the symbol: nothing new placed
    deletes = [w for w in harness.writes() if w["method"] == "DELETE"]
    assert len(deletes) == 1  # cancelled at its TTL
    status = {o.exchange_order_id: o.status for o in harness.venue_orders(b)}
    assert status[xid] is VenueOrderStatus.CANCELED
    assert adopting.rows("SELECT event FROM order_events WHERE client_order_id = ? ORDER BY ts", [cid])[0] == (
        "orphan",
    )


def test_an_order_this_db_knows_is_its_own_even_when_no_longer_live_in_it(harness: Any) -> None:
    s = _instance(harness, "host-a")
    # A submit the reconciler once gave up on (NOT_SENT) surfaces after all: this DB placed it, so no refusal.
    order = _place(s, client_order_id(s.resolved_account_scope, "late-submit"))
    _remember(s, order, OrderStatus.NOT_SENT)
    run = harness.run(s, _loop())
    assert run.result.exit_code == 1 and run.result.refusal is None and run.result.summary.orphans == 1
    assert len(_posts(harness)) == 1  # the surfaced order holds the symbol


def test_a_foreign_order_appearing_mid_run_latches_safe_mode_and_is_left_alone(harness: Any) -> None:
    s = _instance(harness, "host-a", cancel_open_orders_on_stop=True)
    planted: list[VenueOrder] = []

    class PlantOnSecondLook:
        """Another host starts trading the account between this run's start-up check and its first reconcile."""

        def __init__(self, inner: BtcturkExchange) -> None:
            self._inner = inner
            self._looks = 0

        def open_orders(self, symbol: str) -> list[VenueOrder]:
            self._looks += 1
            if self._looks == 2:
                planted.append(_place(s, client_order_id(s.resolved_account_scope, "the-other-host")))
            return self._inner.open_orders(symbol)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    run = harness.run(s, _loop(max_cycles=3), reader_wrapper=PlantOnSecondLook)
    assert run.result.exit_code == 1 and run.result.refusal is None
    assert run.result.summary.safe_mode_cause == "foreign_orders"
    (foreign,) = planted
    by_id = {o.exchange_order_id: o.status for o in harness.venue_orders(s)}
    assert by_id[foreign.exchange_order_id] is VenueOrderStatus.UNTOUCHED  # not ours to cancel
    own = [r[0] for r in run.rows("SELECT exchange_order_id FROM orders")]
    assert len(own) == 1 and foreign.exchange_order_id not in own  # never adopted
    assert by_id[own[0]] is VenueOrderStatus.CANCELED  # its own order is still managed (cancelled on stop)
    reasons = [r[0] for r in run.rows("SELECT reason_code FROM decisions WHERE symbol = '*'")]
    assert rc.LOCK_FOREIGN_ORDERS in reasons and rc.SUPERVISOR_SAFE_MODE in reasons


def test_rotating_the_api_key_keeps_earlier_orders_visible(harness: Any) -> None:
    s = _instance(harness, "host-a")
    first = harness.run(s, _loop(max_cycles=1))
    assert len(_posts(harness)) == 1 and first.rows("SELECT count(*) FROM orders WHERE status = 'OPEN'") == [(1,)]
    # The same account, a new key pair.
    new_key, new_secret = "rotated-key", base64.b64encode(b"rotated-secret-0123456789").decode()
    harness.sim.core.credentials[new_key] = Credential(new_key, new_secret, harness.sim.user_id)
    rotated = s.model_copy(update={"btcturk_api_key": SecretStr(new_key), "btcturk_api_secret": SecretStr(new_secret)})
    again = harness.run(rotated, _loop())
    # The only anomaly: the order is still open at the end (cancel-on-stop is off), as it should be.
    assert [a.kind for a in again.result.summary.anomalies] == ["open_at_end"]
    assert len(_posts(harness)) == 1  # the earlier order is still this scope's: no second order
    codes = again.rows("SELECT reason_code FROM decisions WHERE run_id = ?", [again.result.summary.run_id])
    assert codes == [(rc.STRATEGY_ORDER_ACTIVE,)] * 2


def test_orders_of_the_key_derived_scope_before_the_upgrade_are_still_this_instances(harness: Any) -> None:
    s = _instance(harness, "host-a")
    legacy = legacy_key_scope(harness.sim.api_key)
    known = _place(s, client_order_id(legacy, "placed-by-the-previous-release"))
    _remember(s, known, OrderStatus.OPEN)
    run = harness.run(s, _loop())
    assert [a.kind for a in run.result.summary.anomalies] == ["open_at_end"]  # left open: cancel-on-stop is off
    assert len(_posts(harness)) == 1  # loaded from the DB and managed: no second order on the symbol
    # One the DB never placed, under that same old prefix, is foreign like any other.
    _place(s, client_order_id(legacy, "another-db-of-the-previous-release"))
    assert harness.run(s, _loop()).result.exit_code == 2


class _FailingOpenOrders:
    def __init__(self, inner: BtcturkExchange, failures: int) -> None:
        self._inner = inner
        self._failures = failures

    def open_orders(self, symbol: str) -> list[VenueOrder]:
        if self._failures > 0:
            self._failures -= 1
            raise TransientError("open orders unavailable")
        return self._inner.open_orders(symbol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_live_never_decides_before_the_venue_was_read(vharness: Any) -> None:
    # Virtual time: the start-up check's retry backoff advances the clock instead of sleeping.
    s = _instance(vharness, "host-a")
    down = vharness.run(s, _loop(), reader_wrapper=lambda ex: _FailingOpenOrders(ex, failures=10**6))
    assert down.result.exit_code == 1 and down.result.summary.cycles == 0
    assert any("start-up venue check failed" in a.detail for a in down.result.summary.anomalies)
    assert any(a.kind == "reconcile_failing" for a in down.result.summary.anomalies)
    assert _posts(vharness) == []
    blip = vharness.run(s, _loop(max_cycles=1), reader_wrapper=lambda ex: _FailingOpenOrders(ex, failures=1))
    assert blip.result.summary.cycles == 1 and len(_posts(vharness)) == 1  # a transient failure is retried
