"""An in-process venue (``ExchangeReader`` + ``OrderGateway``) that fills orders against recorded books.

It is the only venue replay ever talks to: there is no network code behind it, so an armed replay can never
reach a real exchange (``assert_in_process``). Every call first brings the recorded market up to the clock's
now, so a query sees the fills that happened in virtual time since the previous call.

Matching: a marketable limit order takes liquidity from the recorded book at once (taker fee, book prices,
level sizes); the rest rests and fills at its own price (maker fee) when a later recorded event shows the
opposite side at or through it, up to the size shown there. The recorded book is not changed by our fills
(our orders are small next to it); fills are recorded in virtual time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from btcbot.domain.clock import Clock
from btcbot.domain.orders import (
    Balance,
    Fill,
    OrderIntent,
    OrderMethod,
    OrderSide,
    SubmitAck,
    VenueOrder,
    VenueOrderStatus,
)
from btcbot.domain.rules import SymbolRules
from btcbot.errors import InsufficientFunds, InvariantViolation, OrderNotFound, RejectedByVenue, SymbolNotTradable
from btcbot.replay.dataset import DIFF, Event
from btcbot.replay.market import RecordedMarket

if TYPE_CHECKING:
    from btcbot.arming import WriteToken

# BTCTurk's 2026 level-1 schedule (TRY pairs; USDT pairs are cheaper). Fees are charged in the quote asset.
FEES: Final = {"TRY": (Decimal("0.0012"), Decimal("0.0024")), "USDT": (Decimal("0.0010"), Decimal("0.0014"))}
DEFAULT_FEES: Final = (Decimal("0.0012"), Decimal("0.0024"))
# The simulator's demo account, so a replay starts from the same funds as the run that was recorded.
DEMO_BALANCES: Final = {"TRY": Decimal("1000000"), "BTC": Decimal("1"), "ETH": Decimal("20"), "USDT": Decimal("10000")}


@dataclass(slots=True)
class _Order:
    order: VenueOrder
    maker_fee: Decimal
    taker_fee: Decimal


def assert_in_process(gateway: object) -> None:
    """Replay arms the runtime, so its gateway must be this in-process venue and nothing else."""
    if not isinstance(gateway, InProcessVenue):
        raise InvariantViolation(
            f"replay refused: the order gateway is {type(gateway).__name__}, not the in-process replay venue"
        )


class InProcessVenue:
    """Fills this bot's orders against a ``RecordedMarket`` in virtual time."""

    in_process: Final = True

    def __init__(
        self,
        market: RecordedMarket,
        clock: Clock,
        rules: dict[str, SymbolRules],
        *,
        balances: dict[str, Decimal] | None = None,
        seed: int = 1,
    ) -> None:
        self._market = market
        self._clock = clock
        self._rules = rules
        self._totals: dict[str, Decimal] = dict(DEMO_BALANCES if balances is None else balances)
        self._orders: dict[int, _Order] = {}
        self._open: dict[str, list[int]] = {}
        self._fills: list[Fill] = []
        self._lock = market.lock
        # Ids look like the venue's large integers; the seed keeps two replays' ids apart yet reproducible.
        self._next_order_id = 10_000_000_000 + seed * 1_000_000
        self._next_trade_id = 20_000_000_000 + seed * 1_000_000
        self.submits = 0
        self.rejects = 0
        self.cancels = 0

    # ----- ExchangeReader -----
    def symbol_rules(self, symbol: str) -> SymbolRules:
        rules = self._rules.get(symbol)
        if rules is None or not rules.tradable:
            raise SymbolNotTradable(f"{symbol} is not tradable in this dataset (not recorded or not TRADING)")
        return rules

    def balances(self) -> list[Balance]:
        with self._lock:
            self._sync()
            locked = self._locked()
            return [
                Balance(asset=a, total=t, free=t - locked.get(a, Decimal(0)), locked=locked.get(a, Decimal(0)))
                for a, t in sorted(self._totals.items())
            ]

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        with self._lock:
            self._sync()
            ids = (
                [i for ids in self._open.values() for i in ids] if symbol is None else list(self._open.get(symbol, ()))
            )
            return [self._orders[i].order for i in sorted(ids)]

    def all_orders(self, symbol: str, start_ms: int | None = None) -> list[VenueOrder]:
        with self._lock:
            self._sync()
            return [
                o.order
                for o in self._orders.values()
                if o.order.symbol == symbol and (start_ms is None or o.order.updated_ms >= start_ms)
            ]

    def get_order(self, exchange_order_id: int) -> VenueOrder:
        with self._lock:
            self._sync()
            entry = self._orders.get(exchange_order_id)
            if entry is None:
                raise OrderNotFound(f"order {exchange_order_id} not found", venue_code=1051)
            return entry.order

    def user_trades(self, symbol: str | None = None, start_ms: int | None = None) -> list[Fill]:
        with self._lock:
            self._sync()
            return [
                f
                for f in self._fills
                if (symbol is None or f.symbol == symbol) and (start_ms is None or f.ts_ms >= start_ms)
            ]

    def server_time_ms(self) -> int:
        return self._clock.wall_ms()

    # ----- OrderGateway -----
    def submit_order(self, intent: OrderIntent, token: WriteToken) -> SubmitAck:
        token.check_at_send("submit")
        with self._lock:
            self._sync()
            self.submits += 1
            try:
                rules = self.symbol_rules(intent.symbol)
                self._validate(intent, rules)
            except RejectedByVenue:
                self.rejects += 1
                raise
            except SymbolNotTradable:
                self.rejects += 1
                raise
            now = self._clock.wall_ms()
            maker, taker = FEES.get(rules.denominator, DEFAULT_FEES)
            oid = self._next_order_id
            self._next_order_id += 1
            order = VenueOrder(
                exchange_order_id=oid,
                client_order_id=intent.client_order_id,
                symbol=intent.symbol,
                side=intent.side,
                method=intent.method,
                price=intent.price,
                quantity=intent.quantity,
                left_amount=intent.quantity,
                status=VenueOrderStatus.UNTOUCHED,
                created_ms=now,
                updated_ms=now,
            )
            self._orders[oid] = _Order(order, maker, taker)
            self._open.setdefault(intent.symbol, []).append(oid)
            self._take(oid, now)
            if self._orders[oid].order.left_amount > 0:
                self._market.watch(intent.symbol, self._on_event)
            elif intent.method is OrderMethod.MARKET:
                self._close(oid, VenueOrderStatus.CANCELED, now)
            return SubmitAck(exchange_order_id=oid, client_order_id=intent.client_order_id, ts_ms=now)

    def cancel_order(self, exchange_order_id: int, token: WriteToken) -> None:
        token.check_at_send("cancel")
        with self._lock:
            self._sync()
            entry = self._orders.get(exchange_order_id)
            if entry is None:
                raise OrderNotFound(f"order {exchange_order_id} not found", venue_code=1051)
            status = entry.order.status
            if status is VenueOrderStatus.CLOSED:
                raise RejectedByVenue(
                    f"order {exchange_order_id} could not be canceled (already filled)",
                    venue_code=1050,
                    venue_message="ORDER_COULD_NOT_BE_CANCELED",
                )
            if status is VenueOrderStatus.CANCELED:
                return
            self.cancels += 1
            self._close(exchange_order_id, VenueOrderStatus.CANCELED, self._clock.wall_ms())

    # ----- matching -----
    def _sync(self) -> None:
        self._market.advance_to(self._clock.wall_ms())

    def _validate(self, intent: OrderIntent, rules: SymbolRules) -> None:
        def reject(message: str, code: str) -> RejectedByVenue:
            return RejectedByVenue(f"{intent.symbol}: {message}", venue_code=1, venue_message=code)

        if intent.quantity <= 0 or intent.price <= 0:
            raise reject("price and quantity must be positive", "FAILED_ORDER_PARAMETER")
        if intent.quantity != rules.round_quantity(intent.quantity):
            raise reject(f"quantity {intent.quantity} has too many decimals", "FAILED_INVALID_QUANTITY_SCALE")
        if intent.method is OrderMethod.LIMIT:
            if intent.price != intent.price.quantize(rules.price_quantum()):
                raise reject(f"price {intent.price} is off the price grid", "FAILED_INVALID_PRICE_SCALE")
            if not rules.price_in_band(intent.price):
                raise reject(f"price {intent.price} is outside the allowed band", "FAILED_LIMIT_PRICE_BAND")
        if intent.notional < rules.min_exchange_value:
            raise reject(f"notional {intent.notional} below {rules.min_exchange_value}", "FAILED_MIN_TOTAL_AMOUNT")
        _, taker = FEES.get(rules.denominator, DEFAULT_FEES)
        locked = self._locked()
        if intent.side is OrderSide.BUY:
            asset, need = rules.denominator, intent.notional * (1 + taker)
        else:
            asset, need = rules.numerator, intent.quantity
        free = self._totals.get(asset, Decimal(0)) - locked.get(asset, Decimal(0))
        if free < need:
            raise InsufficientFunds(
                f"{intent.symbol}: insufficient {asset} balance", venue_code=1, venue_message="BALANCE_NOT_ENOUGH"
            )

    def _locked(self) -> dict[str, Decimal]:
        locked: dict[str, Decimal] = {}
        for ids in self._open.values():
            for oid in ids:
                entry = self._orders[oid]
                o = entry.order
                rules = self._rules[o.symbol]
                if o.side is OrderSide.BUY:
                    amount = o.left_amount * o.price * (1 + entry.taker_fee)
                    locked[rules.denominator] = locked.get(rules.denominator, Decimal(0)) + amount
                else:
                    locked[rules.numerator] = locked.get(rules.numerator, Decimal(0)) + o.left_amount
        return locked

    def _take(self, oid: int, now: int) -> None:
        """Fill a marketable order against the current recorded book, at the book's prices (taker)."""
        entry = self._orders[oid]
        o = entry.order
        side = "asks" if o.side is OrderSide.BUY else "bids"
        for price, amount in self._market.books[o.symbol].levels(side):
            left = self._orders[oid].order.left_amount
            if left <= 0:
                return
            if o.method is OrderMethod.LIMIT and (price > o.price if o.side is OrderSide.BUY else price < o.price):
                return
            self._fill(oid, price, min(left, amount), entry.taker_fee, now)

    def _on_event(self, ev: Event) -> None:
        """A recorded event for a symbol with resting orders: fill those the book now reaches (maker)."""
        with self._lock:
            ids = self._open.get(ev[3])
            if not ids:
                self._market.watch(ev[3], None)
                return
            diff = ev[0] == DIFF
            for oid in list(ids):
                entry = self._orders[oid]
                o = entry.order
                levels = ev[6] if o.side is OrderSide.BUY else ev[5]
                available = Decimal(0)
                for lv in levels:
                    if diff and lv[2] == 3:
                        continue
                    price = Decimal(lv[0])
                    if price <= o.price if o.side is OrderSide.BUY else price >= o.price:
                        available += Decimal(lv[1])
                if available > 0:
                    self._fill(oid, o.price, min(o.left_amount, available), entry.maker_fee, ev[1])

    def _fill(self, oid: int, price: Decimal, qty: Decimal, fee_rate: Decimal, ts: int) -> None:
        entry = self._orders[oid]
        o = entry.order
        rules = self._rules[o.symbol]
        qty = rules.round_quantity(qty)
        if qty <= 0:
            return
        quote = price * qty
        fee = (quote * fee_rate).quantize(Decimal("0.00000001"))
        base_asset, quote_asset = rules.numerator, rules.denominator
        zero = Decimal(0)
        if o.side is OrderSide.BUY:
            self._totals[quote_asset] = self._totals.get(quote_asset, zero) - quote - fee
            self._totals[base_asset] = self._totals.get(base_asset, zero) + qty
        else:
            self._totals[base_asset] = self._totals.get(base_asset, zero) - qty
            self._totals[quote_asset] = self._totals.get(quote_asset, zero) + quote - fee
        self._fills.append(
            Fill(
                trade_id=self._next_trade_id,
                exchange_order_id=oid,
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                side=o.side,
                price=price,
                quantity=qty,
                fee=fee,
                tax=Decimal(0),
                ts_ms=ts,
            )
        )
        self._next_trade_id += 1
        left = o.left_amount - qty
        status = VenueOrderStatus.PARTIAL if left > 0 else VenueOrderStatus.CLOSED
        entry.order = replace(o, left_amount=left, status=status, updated_ms=ts)
        if left <= 0:
            self._close(oid, VenueOrderStatus.CLOSED, ts)

    def _close(self, oid: int, status: VenueOrderStatus, ts: int) -> None:
        entry = self._orders[oid]
        entry.order = replace(entry.order, status=status, updated_ms=max(ts, entry.order.updated_ms))
        ids = self._open.get(entry.order.symbol)
        if ids and oid in ids:
            ids.remove(oid)

    # ----- for the backtest summary -----
    def totals(self) -> dict[str, Decimal]:
        with self._lock:
            return dict(self._totals)

    def fills(self) -> list[Fill]:
        with self._lock:
            return list(self._fills)
