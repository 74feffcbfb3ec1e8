"""Wanted versus live: which of this bot's orders on a symbol to keep, which to cancel, what to submit.

Pure. Wanted orders are first put on the symbol's grid (buy prices down, sell prices up, quantities down; one
that rounds to nothing is dropped). A live order is kept when a wanted order has its side, its price and its
quantity or remaining quantity; each live order satisfies one wanted order at most. A live order nobody wants is
cancelled if it can be (acknowledged by the venue); one still in flight (submitted and unanswered, UNKNOWN, or with
a cancel pending) is left alone. A replacement waits: while a side has an order on its way out (cancelled now or
pending), that side's new orders are deferred to a later cycle, so the old and the new order never rest together
and the new one is judged against the balance and open-order count the cancel frees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from btcbot.domain.orders import OrderSide, OrderStatus
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.strategy import WantedOrder

S = OrderStatus
_KEEPABLE = frozenset({S.INTENT, S.OPEN, S.PARTIAL})
_CANCELLABLE = frozenset({S.OPEN, S.PARTIAL})


@dataclass(frozen=True, slots=True)
class OrderDiff:
    keep: tuple[OrderRecord, ...] = ()
    cancel: tuple[OrderRecord, ...] = ()
    submit: tuple[WantedOrder, ...] = ()  # on the grid
    deferred: tuple[WantedOrder, ...] = ()  # their side has an order on its way out
    dropped: tuple[WantedOrder, ...] = ()  # the quantity rounds to zero on the grid

    @property
    def acts(self) -> bool:
        return bool(self.cancel or self.submit)


def on_grid(wanted: WantedOrder, rules: SymbolRules) -> WantedOrder | None:
    price = rules.round_price(wanted.price, wanted.side)
    quantity = rules.round_quantity(wanted.quantity)
    if price <= 0 or quantity <= 0:
        return None
    # Compared by digits, not value: 1.999E+6 equals 1999000 but would be recorded in that form.
    if price.as_tuple() == wanted.price.as_tuple() and quantity.as_tuple() == wanted.quantity.as_tuple():
        return wanted
    return WantedOrder(wanted.side, price, quantity, wanted.post_only)


def _satisfies(record: OrderRecord, wanted: WantedOrder) -> bool:
    return (
        record.side is wanted.side
        and record.price == wanted.price
        and wanted.quantity in (record.quantity, record.quantity - record.filled_quantity)
    )


def diff_orders(wanted: Sequence[WantedOrder], live: Sequence[OrderRecord], rules: SymbolRules) -> OrderDiff:
    gridded: list[WantedOrder] = []
    dropped: list[WantedOrder] = []
    for w in wanted:
        g = on_grid(w, rules)
        (gridded if g is not None else dropped).append(g if g is not None else w)
    unmatched = [r for r in live if r.status in _KEEPABLE]
    keep: list[OrderRecord] = []
    missing: list[WantedOrder] = []
    for w in gridded:
        match = next((r for r in unmatched if _satisfies(r, w)), None)
        if match is None:
            missing.append(w)
        else:
            keep.append(match)
            unmatched.remove(match)
    cancel = [r for r in unmatched if r.status in _CANCELLABLE and r.exchange_order_id is not None]
    leaving: set[OrderSide] = {r.side for r in unmatched}
    leaving |= {r.side for r in live if r.status not in _KEEPABLE}
    return OrderDiff(
        keep=tuple(keep),
        cancel=tuple(cancel),
        submit=tuple(w for w in missing if w.side not in leaving),
        deferred=tuple(w for w in missing if w.side in leaving),
        dropped=tuple(dropped),
    )
