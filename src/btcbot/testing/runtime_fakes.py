"""An in-memory venue for the runtime's unit tests and benchmark: market data, reader and gateway in one.

It honours the arming chokepoint exactly like the HTTP client (``token.check_at_send`` right before a
write), counts every write attempt that reached it, and has a few faults (drop the submit response,
reject submits, stale or crossed books, an unavailable feed).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from btcbot.arming import WriteToken
from btcbot.domain.clock import Clock, SystemClock
from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.domain.orders import (
    Balance,
    Fill,
    OrderIntent,
    OrderMethod,
    OrderSide,
    OrderStatus,
    SubmitAck,
    VenueOrder,
    VenueOrderStatus,
)
from btcbot.domain.rules import SymbolRules
from btcbot.errors import OrderNotCancellable, OrderNotFound, OutcomeUnknown, RejectedByVenue, SymbolNotTradable
from btcbot.runtime.lifecycle import OrderRecord


def order_record(cid: str, status: OrderStatus, *, at_ms: int = 0, **fields: Any) -> OrderRecord:
    """A ledger record of a 1 BTC limit buy at 100 TRY on BTCTRY, created at ``at_ms``; ``fields`` override."""
    base: dict[str, Any] = {
        "client_order_id": cid,
        "symbol": "BTCTRY",
        "side": OrderSide.BUY,
        "method": OrderMethod.LIMIT,
        "price": Decimal(100),
        "quantity": Decimal(1),
        "status": status,
        "run_id": "r",
        "cycle_id": 1,
        "created_ms": at_ms,
        "updated_ms": at_ms,
        "ttl_seconds": 30,
    }
    return OrderRecord(**{**base, **fields})


def btctry_rules(symbol: str = "BTCTRY") -> SymbolRules:
    base = symbol[:-3]
    return SymbolRules(
        symbol=symbol,
        numerator=base,
        denominator="TRY",
        numerator_scale=8,
        denominator_scale=0,
        has_fraction=False,
        min_exchange_value=Decimal("99.91"),
        min_price=Decimal(1),
        max_price=Decimal(100_000_000),
        minimum_limit_order_price=None,
        maximum_limit_order_price=None,
        status="TRADING",
        order_methods=("limit",),
    )


@dataclass
class FakeFaults:
    drop_order_response: bool = False
    reject_orders: bool = False
    stale_ms: int = 0  # books are this old (both by exchange ts and by local receipt)
    crossed_book: bool = False
    unavailable: bool = False


class FakeVenue:
    """MarketDataSource + ExchangeReader + OrderGateway over one in-memory account."""

    def __init__(self, clock: Clock | None = None, *, mids: dict[str, Decimal] | None = None) -> None:
        self.clock = clock or SystemClock()
        self.mids = dict(mids or {"BTCTRY": Decimal(2_000_000)})
        self.faults = FakeFaults()
        self.orders: dict[int, VenueOrder] = {}
        self.balances_by_asset = {"TRY": Decimal(1_000_000), "BTC": Decimal(1), "ETH": Decimal(20)}
        self.write_attempts: list[str] = []  # "submit"/"cancel", counted after the token check passed
        self.submit_hook: threading.Event | None = None  # set just before a submit returns (benchmarks)
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self.book_override: dict[str, BookSnapshot] = {}

    # ----- MarketDataSource -----
    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def snapshot(self, symbol: str) -> BookSnapshot | None:
        if self.faults.unavailable:
            return None
        if symbol in self.book_override:
            return self.book_override[symbol]
        mid = self.mids[symbol]
        bid, ask = mid - 1000, mid + 1000
        if self.faults.crossed_book:
            bid = ask + 1000
        age = self.faults.stale_ms
        return BookSnapshot(
            symbol=symbol,
            bids=(PriceLevel(bid, Decimal("0.5")),),
            asks=(PriceLevel(ask, Decimal("0.5")),),
            exchange_ts_ms=self.clock.wall_ms() - age,
            received_monotonic_ns=self.clock.monotonic_ns() - age * 1_000_000,
            received_wall_ms=self.clock.wall_ms() - age,
            source="rest",
        )

    # ----- ExchangeReader -----
    def symbol_rules(self, symbol: str) -> SymbolRules:
        if symbol not in self.mids:
            raise SymbolNotTradable(f"{symbol} is not listed")
        return btctry_rules(symbol)

    def balances(self) -> list[Balance]:
        return [Balance(a, v, v, Decimal(0)) for a, v in self.balances_by_asset.items()]

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        with self._lock:
            return [
                o
                for o in self.orders.values()
                if o.status in (VenueOrderStatus.UNTOUCHED, VenueOrderStatus.PARTIAL)
                and (symbol is None or o.symbol == symbol)
            ]

    def all_orders(self, symbol: str, start_ms: int | None = None) -> list[VenueOrder]:
        with self._lock:
            return [o for o in self.orders.values() if o.symbol == symbol and o.created_ms >= (start_ms or 0)]

    def get_order(self, exchange_order_id: int) -> VenueOrder:
        with self._lock:
            if exchange_order_id not in self.orders:
                raise OrderNotFound(f"order {exchange_order_id} not found")
            return self.orders[exchange_order_id]

    def user_trades(self, symbol: str | None = None, start_ms: int | None = None) -> list[Fill]:
        return []

    def server_time_ms(self) -> int:
        return self.clock.wall_ms()

    # ----- OrderGateway -----
    def place_foreign(self, symbol: str, client_order_id: str | None, price: Decimal, qty: Decimal) -> VenueOrder:
        """An order placed on the same account by someone else (or an earlier process)."""
        now = self.clock.wall_ms()
        with self._lock:
            oid = next(self._ids)
            order = VenueOrder(
                oid,
                client_order_id,
                symbol,
                OrderSide.BUY,
                OrderMethod.LIMIT,
                price,
                qty,
                qty,
                VenueOrderStatus.UNTOUCHED,
                now,
                now,
            )
            self.orders[oid] = order
            return order

    def submit_order(self, intent: OrderIntent, token: WriteToken) -> SubmitAck:
        token.check_at_send("submit")
        self.write_attempts.append("submit")
        if self.faults.reject_orders:
            raise RejectedByVenue("rejected by fake venue", http_status=400, venue_code=1)
        order = self.place_foreign(intent.symbol, intent.client_order_id, intent.price, intent.quantity)
        if self.submit_hook is not None:
            self.submit_hook.set()
        if self.faults.drop_order_response:
            raise OutcomeUnknown("response dropped")
        return SubmitAck(order.exchange_order_id, intent.client_order_id, order.created_ms)

    def cancel_order(self, exchange_order_id: int, token: WriteToken) -> None:
        token.check_at_send("cancel")
        self.write_attempts.append("cancel")
        with self._lock:
            order = self.orders.get(exchange_order_id)
            if order is None:
                raise OrderNotFound(f"order {exchange_order_id} not found", http_status=400, venue_code=1051)
            if order.status is VenueOrderStatus.CANCELED:
                return  # BTCTurk answers 200 to a repeated cancel
            if order.status is not VenueOrderStatus.UNTOUCHED and order.status is not VenueOrderStatus.PARTIAL:
                raise OrderNotCancellable("ORDER_COULD_NOT_BE_CANCELED", http_status=400, venue_code=1050)
            self.orders[exchange_order_id] = replace(
                order, status=VenueOrderStatus.CANCELED, updated_ms=self.clock.wall_ms()
            )

    def fill(self, exchange_order_id: int) -> None:
        with self._lock:
            o = self.orders[exchange_order_id]
            self.orders[exchange_order_id] = replace(o, left_amount=Decimal(0), status=VenueOrderStatus.CLOSED)
