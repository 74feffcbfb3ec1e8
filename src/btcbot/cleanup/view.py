"""This scope's orders as the venue sees them, joined with what the state DB says (pure, plus the reads).

A line is one order: open at the venue and known to the DB (its DB status beside it), open at the venue and
unknown to the DB (an order of ours the DB never recorded, e.g. a run killed mid-submit), or unfinished in
the DB while the venue no longer shows it open (the next ``btcbot run --once`` reconciles it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from btcbot.domain.decimal_text import plain_decimal
from btcbot.domain.orders import VenueOrder
from btcbot.runtime.lifecycle import LIVE_STATUSES, ORDER_COLUMNS, OrderRecord, record_from_row

UNKNOWN_TO_DB = "unknown to DB"
JOURNAL_ONLY = "INTENT (journal)"  # written ahead of a submit, not yet flushed into the DB file
VENUE_OPEN = "open"
VENUE_NOT_OPEN = "not open"

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class OpenOrdersReader(Protocol):
    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]: ...


@dataclass(frozen=True, slots=True)
class KnownOrder:
    """An order of this scope as the DB (or an intent journal) records it."""

    client_order_id: str
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    status: str
    exchange_order_id: int | None = None

    @classmethod
    def from_record(cls, r: OrderRecord) -> KnownOrder:
        return cls(r.client_order_id, r.symbol, r.side.value, r.price, r.quantity, r.status.value, r.exchange_order_id)


@dataclass(frozen=True, slots=True)
class OrderLine:
    client_order_id: str
    symbol: str
    side: str
    price: Decimal
    amount: Decimal
    left: Decimal | None  # None when the venue does not show the order open
    venue: str  # VENUE_OPEN | VENUE_NOT_OPEN
    db: str  # the DB status, JOURNAL_ONLY or UNKNOWN_TO_DB
    exchange_order_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "exchange_order_id": self.exchange_order_id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "price": plain_decimal(self.price),
            "amount": plain_decimal(self.amount),
            "left": None if self.left is None else plain_decimal(self.left),
            "venue": self.venue,
            "db": self.db,
        }


@dataclass(frozen=True, slots=True)
class OrdersView:
    scope: str
    lines: tuple[OrderLine, ...]
    other_open_at_venue: int  # open orders at the venue that are not this scope's (never touched)

    @property
    def open_at_venue(self) -> tuple[OrderLine, ...]:
        return tuple(line for line in self.lines if line.venue == VENUE_OPEN)

    @property
    def unknown_to_db(self) -> tuple[OrderLine, ...]:
        return tuple(line for line in self.lines if line.db == UNKNOWN_TO_DB)

    @property
    def db_only(self) -> tuple[OrderLine, ...]:
        return tuple(line for line in self.lines if line.venue == VENUE_NOT_OPEN)


def owned(orders: Iterable[VenueOrder], prefixes: tuple[str, ...]) -> list[VenueOrder]:
    """This scope's orders: those whose client id carries one of its prefixes (its own, and a pre-upgrade one)."""
    return [o for o in orders if o.client_order_id and o.client_order_id.startswith(prefixes)]


def fetch_open_orders(venue: OpenOrdersReader, symbols: Iterable[str], *, all_pairs: bool) -> list[VenueOrder]:
    """Every open order the venue shows for these symbols (and for all pairs when asked), once each.

    BTCTurk documents ``pairSymbol`` as optional but newer docs ask for it, so the all-pairs listing is
    backed by one query per symbol this scope is known to trade.
    """
    found: dict[int, VenueOrder] = {}
    queries: list[str | None] = [None] if all_pairs else []
    queries += sorted(set(symbols))
    for symbol in queries:
        for o in venue.open_orders(symbol):
            found.setdefault(o.exchange_order_id, o)
    return sorted(found.values(), key=lambda o: (o.symbol, o.created_ms, o.exchange_order_id))


def load_records(query: Query, prefixes: tuple[str, ...], client_ids: Iterable[str]) -> list[OrderRecord]:
    """This scope's unfinished DB orders, plus its orders (any status) that carry one of ``client_ids``."""
    statuses = sorted(s.value for s in LIVE_STATUSES)
    marks = ", ".join("?" for _ in statuses)
    mine = " OR ".join("starts_with(client_order_id, ?)" for _ in prefixes) or "false"
    rows = query(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE ({mine}) "  # noqa: S608 - placeholders only
        f"AND (status IN ({marks}) OR list_contains(?::VARCHAR[], client_order_id)) ORDER BY created_at",
        [*prefixes, *statuses, sorted(set(client_ids))],
    )
    return [record_from_row(r) for r in rows]


def journal_intents(db_path: Path, prefixes: tuple[str, ...]) -> list[KnownOrder]:
    """Intents written ahead of a submit that no DB flush has taken in yet (a run killed mid-submit)."""
    from btcbot.storage.intent_journal import find_journals, read_journal

    out: dict[str, KnownOrder] = {}
    for path in find_journals(db_path):
        for row in read_journal(path):
            cid = str(row.get("client_order_id") or "")
            if not cid.startswith(prefixes):
                continue
            out[cid] = KnownOrder(
                client_order_id=cid,
                symbol=str(row.get("symbol", "?")),
                side=str(row.get("side", "?")),
                price=Decimal(str(row.get("price", 0))),
                quantity=Decimal(str(row.get("quantity", 0))),
                status=JOURNAL_ONLY,
            )
    return list(out.values())


def join(
    scope: str, prefixes: tuple[str, ...], venue_open: Sequence[VenueOrder], known: Sequence[KnownOrder]
) -> OrdersView:
    """Venue orders of this scope beside the DB's view; DB-unfinished orders the venue no longer shows."""
    by_xid = {k.exchange_order_id: k for k in known if k.exchange_order_id is not None}
    by_cid = {k.client_order_id: k for k in known}
    mine = owned(venue_open, prefixes)
    lines: list[OrderLine] = []
    matched: set[str] = set()
    for v in mine:
        k = by_xid.get(v.exchange_order_id) or by_cid.get(v.client_order_id or "")
        if k is not None:
            matched.add(k.client_order_id)
        lines.append(
            OrderLine(
                client_order_id=v.client_order_id or "",
                symbol=v.symbol,
                side=v.side.value,
                price=v.price,
                amount=v.quantity,
                left=v.left_amount,
                venue=VENUE_OPEN,
                db=k.status if k is not None else UNKNOWN_TO_DB,
                exchange_order_id=v.exchange_order_id,
            )
        )
    live = {s.value for s in LIVE_STATUSES} | {JOURNAL_ONLY}
    for k in known:
        if k.client_order_id in matched or k.status not in live:
            continue
        lines.append(
            OrderLine(
                client_order_id=k.client_order_id,
                symbol=k.symbol,
                side=k.side,
                price=k.price,
                amount=k.quantity,
                left=None,
                venue=VENUE_NOT_OPEN,
                db=k.status,
                exchange_order_id=k.exchange_order_id,
            )
        )
    return OrdersView(scope=scope, lines=tuple(lines), other_open_at_venue=len(venue_open) - len(mine))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return plain_decimal(value) if isinstance(value, Decimal) else str(value)


def render_lines(lines: Sequence[OrderLine]) -> list[str]:
    """A fixed-column table, one order per line."""
    header = ("EXCHANGE_ID", "CLIENT_ORDER_ID", "SYMBOL", "SIDE", "PRICE", "AMOUNT", "LEFT", "VENUE", "DB")
    rows = [header] + [
        tuple(
            _cell(x)
            for x in (
                line.exchange_order_id,
                line.client_order_id,
                line.symbol,
                line.side,
                line.price,
                line.amount,
                line.left,
                line.venue,
                line.db,
            )
        )
        for line in lines
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def summary_line(view: OrdersView) -> str:
    return (
        f"scope={view.scope} open_at_venue={len(view.open_at_venue)} unknown_to_db={len(view.unknown_to_db)} "
        f"db_unfinished_not_at_venue={len(view.db_only)} other_scopes_open_at_venue={view.other_open_at_venue}"
    )
