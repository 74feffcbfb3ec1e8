"""The reconciler's decision, record by record: what evidence changes a record, what it becomes, and whose orphans
are adopted. Outcomes are compared whole, so a field dropped or a record mixed up fails here."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.orders import (
    OrderMethod,
    OrderSide,
    OrderStatus,
    VenueOrder,
    VenueOrderStatus,
    owned_prefix,
    owned_prefixes,
)
from btcbot.errors import (
    AuthenticationError,
    ExchangeError,
    InsufficientFunds,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    RejectedByVenue,
    RequestNotSent,
    SymbolNotTradable,
    TransientError,
)
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.reconcile import (
    AlertSpec,
    ReconcileOutcome,
    RecordUpdate,
    needs_lookup,
    reconcile,
    status_after_submit_error,
)
from btcbot.testing.runtime_fakes import order_record

T0 = 1_700_000_000_000
NOW = T0 + 5_000
PREFIXES = owned_prefixes("s", "legacy1")  # ("btcbot-s-", "btcbot-legacy1-")


def record(cid: str = "btcbot-s-1", status: OrderStatus = OrderStatus.OPEN, xid: int | None = 1) -> OrderRecord:
    return order_record(cid, status, at_ms=T0, quantity=Decimal(2), run_id="r1", exchange_order_id=xid)


def venue(
    xid: int = 1, cid: str | None = "btcbot-s-1", status: VenueOrderStatus = VenueOrderStatus.UNTOUCHED, left: str = "2"
) -> VenueOrder:
    return VenueOrder(
        xid,
        cid,
        "ETHTRY",
        OrderSide.SELL,
        OrderMethod.LIMIT,
        Decimal(70),
        Decimal(2),
        Decimal(left),
        status,
        T0 - 9,
        T0,
    )


def run(
    records: list[OrderRecord],
    open_: list[VenueOrder] | None = None,
    lookups: dict[str, VenueOrder | None] | None = None,
    known: frozenset[str] | None = None,
) -> ReconcileOutcome:
    return reconcile(
        records,
        venue_open=open_ or [],
        lookups=lookups or {},
        owned_prefixes=PREFIXES,
        known_client_ids=known if known is not None else frozenset(r.client_order_id for r in records),
        now_ms=NOW,
        run_id="r2",
        cycle_id=7,
        default_ttl_seconds=45,
    )


class TestNeedsLookup:
    def test_only_live_records_the_open_view_does_not_explain(self) -> None:
        by_id = record("btcbot-s-a", xid=10)
        by_cid = record("btcbot-s-b", status=OrderStatus.UNKNOWN, xid=None)
        done = record("btcbot-s-c", status=OrderStatus.FILLED, xid=12)
        missing = record("btcbot-s-d", xid=13)
        missing_unknown = record("btcbot-s-e", status=OrderStatus.UNKNOWN, xid=None)
        shown = [venue(xid=10, cid=None), venue(xid=11, cid="btcbot-s-b")]
        assert needs_lookup([by_id, by_cid, done, missing, missing_unknown], shown) == [missing, missing_unknown]

    def test_a_record_without_an_exchange_id_is_not_explained_by_an_id_less_match(self) -> None:
        r = record("btcbot-s-a", status=OrderStatus.INTENT, xid=None)
        assert needs_lookup([r], [venue(xid=10, cid="btcbot-s-other")]) == [r]


class TestEvidence:
    def test_a_partial_fill_seen_by_exchange_id_updates_the_record(self) -> None:
        r = record()
        out = run([r], open_=[venue(cid=None, status=VenueOrderStatus.PARTIAL, left="0.5")])
        new = replace(r, status=OrderStatus.PARTIAL, filled_quantity=Decimal("1.5"), updated_ms=NOW)
        assert out == ReconcileOutcome((RecordUpdate(new, "partial"),), (), ())

    def test_a_record_is_matched_by_client_id_when_the_venue_shows_another_exchange_id(self) -> None:
        r = record(xid=None, status=OrderStatus.OPEN)
        out = run([r], open_=[venue(xid=99, status=VenueOrderStatus.UNTOUCHED)])
        assert out.updates == (RecordUpdate(replace(r, exchange_order_id=99, updated_ms=NOW), "acked"),)

    @pytest.mark.parametrize(
        ("venue_status", "left", "status", "event"),
        [
            (VenueOrderStatus.CLOSED, "0", OrderStatus.FILLED, "filled"),
            (VenueOrderStatus.CANCELED, "2", OrderStatus.CANCELLED, "cancelled"),
            (VenueOrderStatus.PARTIAL, "1", OrderStatus.PARTIAL, "partial"),
        ],
    )
    def test_history_lookup_settles_an_open_order(
        self, venue_status: VenueOrderStatus, left: str, status: OrderStatus, event: str
    ) -> None:
        r = record()
        out = run([r], lookups={r.client_order_id: venue(status=venue_status, left=left)})
        filled = Decimal(2) - Decimal(left)
        assert out.updates == (RecordUpdate(replace(r, status=status, filled_quantity=filled, updated_ms=NOW), event),)
        assert out.alerts == ()

    def test_a_fill_on_an_order_being_cancelled_keeps_it_cancel_pending(self) -> None:
        r = record(status=OrderStatus.CANCEL_PENDING)
        out = run([r], open_=[venue(status=VenueOrderStatus.PARTIAL, left="1.25")])
        new = replace(r, filled_quantity=Decimal("0.75"), updated_ms=NOW)
        assert out.updates == (RecordUpdate(new, "adjusted"),)

    def test_nothing_new_means_no_update(self) -> None:
        assert run([record()], open_=[venue()]) == ReconcileOutcome((), (), ())

    def test_an_unknown_order_the_venue_shows_is_resolved_with_an_info_alert(self) -> None:
        r = replace(record(xid=None, status=OrderStatus.UNKNOWN), unknown_since_ms=T0)
        out = run([r], lookups={r.client_order_id: venue(xid=77)})
        new = replace(r, status=OrderStatus.OPEN, exchange_order_id=77, updated_ms=NOW)
        alert = AlertSpec(
            "info",
            "unknown_order",
            rc.RECONCILE_UNKNOWN_RESOLVED,
            "UNKNOWN order resolved by client id as OPEN",
            r.client_order_id,
        )
        assert out == ReconcileOutcome((RecordUpdate(new, "resolved"),), (), (alert,))
        assert (out.resolved_unknown, out.became_unknown) == (1, 0)

    def test_an_intent_the_venue_shows_is_resolved_without_an_alert(self) -> None:
        r = record(xid=None, status=OrderStatus.INTENT)
        out = run([r], open_=[venue(xid=5)])
        new = replace(r, status=OrderStatus.OPEN, exchange_order_id=5, updated_ms=NOW)
        assert out == ReconcileOutcome((RecordUpdate(new, "resolved"),), (), ())
        assert out.resolved_unknown == 1

    def test_an_intent_looked_up_and_not_shown_becomes_unknown_with_a_warning(self) -> None:
        r = record(xid=None, status=OrderStatus.INTENT)
        out = run([r], lookups={r.client_order_id: None})
        new = replace(r, status=OrderStatus.UNKNOWN, updated_ms=NOW, unknown_since_ms=NOW)
        alert = AlertSpec(
            "warning",
            "unknown_order",
            rc.ORDER_UNKNOWN,
            "a submit recorded before a restart is not visible at the venue; UNKNOWN, symbol blocked "
            "until the venue shows it",
            r.client_order_id,
        )
        assert out == ReconcileOutcome((RecordUpdate(new, "unknown"),), (), (alert,))
        assert (out.resolved_unknown, out.became_unknown) == (0, 1)

    @pytest.mark.parametrize("status", [OrderStatus.OPEN, OrderStatus.UNKNOWN, OrderStatus.CANCEL_PENDING])
    def test_absence_from_the_venue_proves_nothing(self, status: OrderStatus) -> None:
        r = record(status=status)
        assert run([r], lookups={r.client_order_id: None}) == ReconcileOutcome((), (), ())

    def test_an_intent_nobody_looked_up_is_left_alone(self) -> None:
        assert run([record(xid=None, status=OrderStatus.INTENT)]) == ReconcileOutcome((), (), ())

    def test_every_record_is_judged_not_only_the_first(self) -> None:
        done = record("btcbot-s-0", status=OrderStatus.FILLED, xid=1)
        unchanged = record("btcbot-s-1", xid=2)
        shown = record("btcbot-s-2", xid=3)
        hidden = record("btcbot-s-3", status=OrderStatus.INTENT, xid=None)
        out = run(
            [done, unchanged, shown, hidden],
            open_=[
                venue(xid=2, cid="btcbot-s-1"),
                venue(xid=3, cid="btcbot-s-2", status=VenueOrderStatus.PARTIAL, left="1"),
            ],
            lookups={"btcbot-s-3": None},
        )
        assert [(u.record.client_order_id, u.event) for u in out.updates] == [
            ("btcbot-s-2", "partial"),
            ("btcbot-s-3", "unknown"),
        ]


class TestOrphans:
    def test_an_unknown_open_order_with_our_scope_prefix_is_adopted_whole(self) -> None:
        v = venue(xid=5, cid="btcbot-s-x", status=VenueOrderStatus.PARTIAL, left="0.5")
        out = run([], open_=[v])
        adopted = OrderRecord(
            client_order_id="btcbot-s-x",
            symbol="ETHTRY",
            side=OrderSide.SELL,
            method=OrderMethod.LIMIT,
            price=Decimal(70),
            quantity=Decimal(2),
            status=OrderStatus.PARTIAL,
            run_id="r2",
            cycle_id=7,
            created_ms=T0 - 9,
            updated_ms=NOW,
            ttl_seconds=45,
            exchange_order_id=5,
            filled_quantity=Decimal("1.5"),
            last_error="adopted orphan",
        )
        alert = AlertSpec(
            "warning",
            "orphan_order",
            rc.RECONCILE_ORPHAN_FOUND,
            "an open order with this bot's prefix was unknown locally; adopted for cancel/TTL",
            "btcbot-s-x",
        )
        assert out == ReconcileOutcome((), (adopted,), (alert,))

    def test_only_this_scopes_orders_are_adopted_never_by_the_bare_bot_prefix(self) -> None:
        foreign = [
            venue(xid=1, cid=None),
            venue(xid=2, cid=""),
            venue(xid=3, cid="manual-1"),
            venue(xid=4, cid="btcbot-"),
            venue(xid=5, cid="btcbot-other-1"),  # this bot, another account scope: not ours to cancel
            venue(xid=6, cid="btcbot-s-known"),  # known locally: not an orphan
            venue(xid=7, cid="xbtcbot-s-1"),
            venue(xid=8, cid="btcbot-legacy"),
        ]
        mine = [venue(xid=9, cid="btcbot-s-mine"), venue(xid=10, cid="btcbot-legacy1-old")]
        out = run([], open_=[*foreign, *mine], known=frozenset({"btcbot-s-known"}))
        assert [a.client_order_id for a in out.adopted] == ["btcbot-s-mine", "btcbot-legacy1-old"]
        assert [a.client_order_id for a in out.alerts] == ["btcbot-s-mine", "btcbot-legacy1-old"]

    def test_owned_prefix_is_per_scope(self) -> None:
        assert owned_prefix("s") == "btcbot-s-"
        assert owned_prefix("acct-1") == "btcbot-acct1-"
        assert owned_prefixes("s") == owned_prefixes("s", "") == owned_prefixes("s", None) == ("btcbot-s-",)
        with pytest.raises(ValueError):
            owned_prefix("")  # never the bare bot prefix


class TestSubmitErrors:
    @pytest.mark.parametrize(
        ("exc", "status"),
        [
            (RequestNotSent("refused"), OrderStatus.NOT_SENT),
            (RejectedByVenue("no", http_status=400), OrderStatus.REJECTED),
            (InsufficientFunds("no", http_status=400), OrderStatus.REJECTED),
            (SymbolNotTradable("no"), OrderStatus.REJECTED),  # replay venue: no HTTP status
            (RejectedByVenue("no"), OrderStatus.REJECTED),
            (AuthenticationError("no", http_status=401), OrderStatus.REJECTED),
            (RateLimited("slow", http_status=429, retry_after_s=1.0), OrderStatus.REJECTED),
            (ProtocolError("odd", http_status=400), OrderStatus.REJECTED),
            (ProtocolError("odd", http_status=499), OrderStatus.REJECTED),
            (ProtocolError("odd", http_status=399), OrderStatus.UNKNOWN),
            (ProtocolError("odd", http_status=500), OrderStatus.UNKNOWN),
            (ProtocolError("cut answer"), OrderStatus.UNKNOWN),
            (ProtocolError("unreadable 2xx", http_status=200), OrderStatus.UNKNOWN),
            (TransientError("5xx", http_status=503), OrderStatus.UNKNOWN),
            (OutcomeUnknown("timeout"), OrderStatus.UNKNOWN),
            (OutcomeUnknown("odd", http_status=400), OrderStatus.UNKNOWN),
        ],
    )
    def test_what_a_failed_submit_proves(self, exc: ExchangeError, status: OrderStatus) -> None:
        assert status_after_submit_error(exc) is status
