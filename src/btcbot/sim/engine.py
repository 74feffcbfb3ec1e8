"""The simulator's matching engine: price-time priority books, accounts with locked funds, fees, history.

Usable in-process with no HTTP (replay drives it from recorded books through ``replace_book``) and with an
injected ``Clock``. All public methods are thread-safe (one re-entrant lock). Money is ``Decimal`` end to end
and is only ever moved between accounts or into ``fees_collected``, never created or destroyed:
``totals()`` is constant over any sequence of calls.

Fee model: the fee rate (maker or taker) of the notional is charged in the quote asset; the trade rows split
it into ``fee`` and ``tax``, the VAT included in the rate: ``tax = charge x vat / (100 + vat)`` (20/120 since
Turkey's VAT rose to 20 % in July 2023; ``vat_percent=18`` gives the older 18/118), so ``fee + tax`` is
exactly ``rate x notional``. Buys reserve ``notional x (1 + taker rate)`` of the quote asset while they rest.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Context, Decimal, localcontext
from typing import Literal

from btcbot.domain.clock import Clock, SystemClock
from btcbot.sim.symbols import SymbolSpec

ZERO = Decimal(0)
DEFAULT_VAT_PERCENT = Decimal(20)
_TAX_QUANTUM = Decimal("1e-12")
_CTX = Context(prec=60)
FIRST_ORDER_ID = 21_770_789_256
FIRST_TRADE_ID = 100_163_842_129_199_947  # > 2**53 on purpose: clients must parse ids as integers
LIQUIDITY_USER_ID = 1  # the synthetic market's (and replay's) participants share one account
PUBLIC_TRADES_KEPT = 500

Side = Literal["buy", "sell"]
Method = Literal["limit", "market"]


class SimRejection(Exception):
    """The venue refuses a request: HTTP status + BTCTurk message + code."""

    def __init__(self, message: str, code: int, http_status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


@dataclass(slots=True)
class SimOrder:
    id: int
    user_id: int
    symbol: str
    side: Side
    method: Method
    price: Decimal  # limit price; 0 for market orders
    quantity: Decimal  # as submitted: base amount, or the quote amount of a market buy
    left: Decimal  # unfilled part, same unit as quantity
    client_id: str
    created_ms: int
    updated_ms: int
    status: str = "Untouched"  # Untouched / Partial / Closed / Canceled, as BTCTurk spells them
    locked: Decimal = ZERO  # funds still reserved (quote for buys, base for sells)
    cancel_due_ms: int | None = None
    first_fill_price: Decimal | None = None

    @property
    def is_open(self) -> bool:
        return self.status in ("Untouched", "Partial")


@dataclass(frozen=True, slots=True)
class UserTrade:
    id: int
    order_id: int
    client_id: str
    user_id: int
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal  # base, positive
    fee: Decimal  # quote, positive
    tax: Decimal  # quote, positive
    ts_ms: int
    maker: bool


@dataclass(frozen=True, slots=True)
class PublicTrade:
    id: int
    symbol: str
    price: Decimal
    amount: Decimal
    taker_side: Side
    ts_ms: int


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order entered the book (insert), changed (update) or left it (delete)."""

    kind: Literal["insert", "update", "delete"]
    order: SimOrder  # a snapshot copy


@dataclass(frozen=True, slots=True)
class FillEvent:
    trade: UserTrade
    order: SimOrder  # snapshot after the fill


@dataclass(frozen=True, slots=True)
class PublicTradeEvent:
    trade: PublicTrade


EngineEvent = OrderEvent | FillEvent | PublicTradeEvent


@dataclass(slots=True)
class Account:
    user_id: int
    free: dict[str, Decimal]
    locked: dict[str, Decimal]
    keep_history: bool = True
    orders: dict[int, SimOrder] = field(default_factory=dict)
    trades: list[UserTrade] = field(default_factory=list)

    def total(self, asset: str) -> Decimal:
        return self.free.get(asset, ZERO) + self.locked.get(asset, ZERO)


@dataclass(slots=True)
class SymbolStats:
    """Rolling figures for the ticker (since engine start; the simulator's day)."""

    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: Decimal = ZERO
    quote_volume: Decimal = ZERO


class _BookSide:
    """One side of a book: sorted prices, FIFO queue per price."""

    __slots__ = ("is_bid", "levels", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.prices: list[Decimal] = []  # ascending
        self.levels: dict[Decimal, deque[SimOrder]] = {}

    def add(self, order: SimOrder) -> None:
        level = self.levels.get(order.price)
        if level is None:
            level = deque()
            self.levels[order.price] = level
            bisect.insort(self.prices, order.price)
        level.append(order)

    def remove(self, order: SimOrder) -> None:
        level = self.levels.get(order.price)
        if level is None:
            return
        try:
            level.remove(order)
        except ValueError:
            return
        if not level:
            del self.levels[order.price]
            idx = bisect.bisect_left(self.prices, order.price)
            del self.prices[idx]

    def best(self) -> Decimal | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.is_bid else self.prices[0]

    def prices_best_first(self) -> Iterator[Decimal]:
        return reversed(self.prices) if self.is_bid else iter(self.prices)

    def orders_best_first(self) -> list[SimOrder]:
        out: list[SimOrder] = []
        levels = self.levels
        for p in self.prices_best_first():
            out.extend(levels[p])
        return out

    def aggregated(self, depth: int) -> list[tuple[Decimal, Decimal]]:
        out: list[tuple[Decimal, Decimal]] = []
        for p in self.prices_best_first():
            total = sum((o.left for o in self.levels[p]), ZERO)
            if total > 0:
                out.append((p, total))
                if len(out) >= depth:
                    break
        return out


class _Book:
    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids = _BookSide(True)
        self.asks = _BookSide(False)

    def side(self, side: Side) -> _BookSide:
        return self.bids if side == "buy" else self.asks


def _copy(order: SimOrder) -> SimOrder:
    return SimOrder(
        order.id, order.user_id, order.symbol, order.side, order.method, order.price, order.quantity, order.left,
        order.client_id, order.created_ms, order.updated_ms, order.status, order.locked, order.cancel_due_ms,
        order.first_fill_price,
    )  # fmt: skip


def decimals_of(value: Decimal) -> int:
    """Number of fraction digits once trailing zeros are dropped ("1.50" -> 1, "100" -> 0)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class MatchingEngine:
    """Books, accounts and matching for a set of symbols.

    Typical in-process use (replay)::

        engine = MatchingEngine(specs, clock=VirtualClock())
        engine.add_account(42, {"TRY": Decimal(1000), "BTC": Decimal(0)})
        engine.replace_book("BTCTRY", bids=[(price, qty), ...], asks=[...])   # the recorded book
        order = engine.submit(42, "BTCTRY", "buy", "limit", Decimal("0.001"), Decimal("3000000"))
        engine.request_cancel(42, order.id); engine.complete_due_cancels()

    ``replace_book`` swaps the liquidity account's resting orders for the supplied levels; levels that cross
    resting account orders trade against them first (the account order is the maker, at its own price).
    """

    def __init__(
        self,
        specs: Sequence[SymbolSpec],
        clock: Clock | None = None,
        *,
        cancel_delay_ms: int = 0,
        liquidity_balances: Mapping[str, Decimal] | None = None,
        vat_percent: Decimal = DEFAULT_VAT_PERCENT,
    ) -> None:
        if not 0 <= vat_percent < 100:
            raise ValueError(f"vat_percent must be in [0, 100), got {vat_percent}")
        self.vat_percent = Decimal(vat_percent)
        self.clock: Clock = clock or SystemClock()
        self.specs: dict[str, SymbolSpec] = {s.name: s for s in specs}
        self.cancel_delay_ms = cancel_delay_ms
        self._lock = threading.RLock()
        self._books: dict[str, _Book] = {s.name: _Book() for s in specs}
        self._orders: dict[int, SimOrder] = {}  # open orders by id, plus history of accounts that keep it
        self._pending_cancels: dict[int, SimOrder] = {}
        self.accounts: dict[int, Account] = {}
        self.fees_collected: dict[str, Decimal] = {}
        self.public_trades: dict[str, deque[PublicTrade]] = {s.name: deque(maxlen=PUBLIC_TRADES_KEPT) for s in specs}
        self.reference_price: dict[str, Decimal | None] = {s.name: None for s in specs}
        self.stats: dict[str, SymbolStats | None] = {s.name: None for s in specs}
        self.book_version: dict[str, int] = {s.name: 0 for s in specs}
        self._next_order_id = FIRST_ORDER_ID
        self._next_trade_id = FIRST_TRADE_ID
        self._listeners: list[Callable[[EngineEvent], None]] = []
        assets = {s.numerator for s in specs} | {s.denominator for s in specs}
        liq = liquidity_balances or {a: Decimal(10) ** 9 for a in assets}
        self.add_account(LIQUIDITY_USER_ID, liq, keep_history=False)

    # ----- accounts -----
    def add_account(self, user_id: int, balances: Mapping[str, Decimal], *, keep_history: bool = True) -> Account:
        with self._lock:
            if user_id in self.accounts:
                raise ValueError(f"account {user_id} already exists")
            acct = Account(user_id, {k: Decimal(v) for k, v in balances.items()}, {}, keep_history)
            self.accounts[user_id] = acct
            return acct

    def subscribe(self, listener: Callable[[EngineEvent], None]) -> None:
        """Call ``listener`` synchronously for every order, fill and public trade event."""
        self._listeners.append(listener)

    def _emit(self, event: EngineEvent) -> None:
        for listener in self._listeners:
            listener(event)

    def totals(self) -> dict[str, Decimal]:
        """Every asset summed over all accounts (free + locked) plus fees collected: a conserved quantity."""
        with self._lock:
            out: dict[str, Decimal] = {}
            for acct in self.accounts.values():
                for asset in set(acct.free) | set(acct.locked):
                    out[asset] = out.get(asset, ZERO) + acct.total(asset)
            for asset, fee in self.fees_collected.items():
                out[asset] = out.get(asset, ZERO) + fee
            return out

    def balances(self, user_id: int) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked)."""
        with self._lock:
            acct = self._account(user_id)
            assets = sorted(set(acct.free) | set(acct.locked))
            return {a: (acct.free.get(a, ZERO), acct.locked.get(a, ZERO)) for a in assets}

    def _account(self, user_id: int) -> Account:
        acct = self.accounts.get(user_id)
        if acct is None:
            raise SimRejection("INVALID_REQUEST_ERROR", 1037)
        return acct

    def spec(self, symbol: str) -> SymbolSpec:
        spec = self.specs.get(symbol)
        if spec is None:
            raise SimRejection(f"Pair {symbol} does not exists.", 1037)
        return spec

    # ----- reads -----
    def levels(
        self, symbol: str, depth: int = 100
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """Aggregated (price, amount) levels, best first: (bids, asks)."""
        with self._lock:
            book = self._books[symbol]
            return book.bids.aggregated(depth), book.asks.aggregated(depth)

    def best_bid_ask(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        with self._lock:
            book = self._books[symbol]
            return book.bids.best(), book.asks.best()

    def resting_orders(self, symbol: str, side: Side) -> list[SimOrder]:
        with self._lock:
            return [_copy(o) for o in self._books[symbol].side(side).orders_best_first()]

    def resting_live(self, symbol: str, side: Side) -> list[SimOrder]:
        """The live resting orders, best first, without copying: for the simulator's own participants only.

        Callers must not mutate them; hold the engine's lock (single-threaded use) while using them.
        """
        return list(self._books[symbol].side(side).orders_best_first())

    def get_order(self, user_id: int, order_id: int) -> SimOrder | None:
        with self._lock:
            order = self._account(user_id).orders.get(order_id)
            return _copy(order) if order else None

    def orders(self, user_id: int, symbol: str | None = None, *, open_only: bool = False) -> list[SimOrder]:
        with self._lock:
            acct = self._account(user_id)
            return [
                _copy(o)
                for o in acct.orders.values()
                if (symbol is None or o.symbol == symbol) and (not open_only or o.is_open)
            ]

    def user_trades(self, user_id: int) -> list[UserTrade]:
        with self._lock:
            return list(self._account(user_id).trades)

    def recent_trades(self, symbol: str, n: int = 50) -> list[PublicTrade]:
        """Newest first."""
        with self._lock:
            trades = self.public_trades[symbol]
            return [trades[i] for i in range(len(trades) - 1, max(-1, len(trades) - 1 - n), -1)]

    def price_band(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        """(minimumLimitOrderPrice, maximumLimitOrderPrice): 0.1x .. 10x the reference price."""
        ref = self.reference_price.get(symbol)
        if ref is None or ref <= 0:
            return None
        q = self.specs[symbol].price_quantum
        low = (ref / 10).quantize(q, rounding=ROUND_DOWN)
        return (max(low, q), (ref * 10).quantize(q, rounding=ROUND_DOWN))

    def set_reference_price(self, symbol: str, price: Decimal) -> None:
        with self._lock:
            self.reference_price[symbol] = price
            if self.stats[symbol] is None:
                self.stats[symbol] = SymbolStats(open=price, high=price, low=price, last=price)

    # ----- writes -----
    def submit(
        self,
        user_id: int,
        symbol: str,
        side: Side,
        method: Method,
        quantity: Decimal,
        price: Decimal | None = None,
        client_id: str = "",
        *,
        validate: bool = True,
        immediate_or_cancel: bool = False,
    ) -> SimOrder:
        """Validate, reserve funds, match, rest the remainder (limit) or drop it (market). Returns a snapshot."""
        with self._lock, localcontext(_CTX):
            spec = self.spec(symbol)
            acct = self._account(user_id)
            book = self._books[symbol]
            if method == "limit" and (price is None or price <= 0):
                raise SimRejection("INVALID_REQUEST_ERROR", 1037)
            limit_price = price if (method == "limit" and price is not None) else ZERO
            if quantity <= 0:
                raise SimRejection("INVALID_REQUEST_ERROR", 1037)
            if validate:
                self._validate(spec, book, side, method, quantity, limit_price)
            taker_rate = spec.fees[1]
            if side == "buy":
                reserve_asset = spec.denominator
                notional = quantity * limit_price if method == "limit" else quantity
                reserve = notional * (1 + taker_rate)
            else:
                reserve_asset = spec.numerator
                reserve = quantity
            free = acct.free.get(reserve_asset, ZERO)
            if reserve > free:
                if reserve <= free + acct.locked.get(reserve_asset, ZERO):
                    raise SimRejection("FAILED_ORDER_WITH_OPEN_ORDERS", 1122)
                raise SimRejection("BALANCE_NOT_ENOUGH", 1055)
            now = self.clock.wall_ms()
            order = SimOrder(
                id=self._next_order_id,
                user_id=user_id,
                symbol=symbol,
                side=side,
                method=method,
                price=limit_price,
                quantity=quantity,
                left=quantity,
                client_id=client_id,
                created_ms=now,
                updated_ms=now,
                locked=reserve,
            )
            self._next_order_id += 1
            acct.free[reserve_asset] = free - reserve
            acct.locked[reserve_asset] = acct.locked.get(reserve_asset, ZERO) + reserve
            acct.orders[order.id] = order
            self._match(spec, book, order)
            if order.left > 0 and method == "limit" and not immediate_or_cancel:
                book.side(side).add(order)
                self.book_version[symbol] += 1
                self._emit(OrderEvent("insert", _copy(order)))
            else:
                if order.status not in ("Closed",):
                    filled = order.left < order.quantity
                    order.status = "Closed" if (method == "market" and filled) else "Canceled"
                self._finish(order)
            snapshot = _copy(order)
            if not acct.keep_history and not order.is_open:
                acct.orders.pop(order.id, None)
            return snapshot

    def _validate(
        self, spec: SymbolSpec, book: _Book, side: Side, method: Method, qty: Decimal, price: Decimal
    ) -> None:
        if method == "limit":
            if decimals_of(price) > spec.price_scale:
                raise SimRejection("FAILED_INVALID_PRICE_SCALE", 1126)
            qty_scale = spec.numerator_scale
        else:
            qty_scale = spec.price_scale if side == "buy" else spec.numerator_scale
        if decimals_of(qty) > qty_scale:
            raise SimRejection("FAILED_INVALID_QUANTITY_SCALE", 1127)
        if method == "limit":
            band = self.price_band(spec.name)
            if band is not None:
                if price > band[1]:
                    raise SimRejection("PRICE_MUST_BE_LESS_THAN_MAXPRICE", 1226)
                if price < band[0]:
                    raise SimRejection("PRICE_MUST_BE_LESS_THAN_MINPRICE", 1227)
            notional = price * qty
        elif side == "buy":
            if book.asks.best() is None:
                raise SimRejection("FAILED_MARKET_ORDER", 1118)
            notional = qty
        else:
            best_bid = book.bids.best()
            if best_bid is None:
                raise SimRejection("FAILED_MARKET_ORDER", 1118)
            notional = qty * best_bid
        if notional < spec.min_exchange_value:
            raise SimRejection("FAILED_MIN_TOTAL_AMOUNT", 1123)

    def _match(self, spec: SymbolSpec, book: _Book, taker: SimOrder) -> None:
        opposite = book.asks if taker.side == "buy" else book.bids
        bound: Decimal | None
        if taker.method == "limit":
            bound = taker.price
        else:
            best = opposite.best()
            if best is None:
                return
            # Market orders fill no further than 5 % from the best opposite price at submission.
            bound = best * Decimal("1.05") if taker.side == "buy" else best * Decimal("0.95")
        while taker.left > 0:
            best = opposite.best()
            if best is None:
                break
            if (taker.side == "buy" and best > bound) or (taker.side == "sell" and best < bound):
                break
            maker = opposite.levels[best][0]
            if taker.method == "market" and taker.side == "buy":
                qty = min(maker.left, (taker.left / best).quantize(spec.quantity_quantum, rounding=ROUND_DOWN))
                if qty <= 0:
                    break
            else:
                qty = min(maker.left, taker.left)
            self._execute(spec, book, maker, taker, best, qty)

    def _fee_split(self, notional: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
        total = notional * rate
        # Multiply before dividing: vat/(100+vat) has no exact decimal form, the product usually does.
        tax = (total * self.vat_percent / (100 + self.vat_percent)).quantize(_TAX_QUANTUM, rounding=ROUND_DOWN)
        return total - tax, tax

    def _execute(
        self, spec: SymbolSpec, book: _Book, maker: SimOrder, taker: SimOrder, price: Decimal, qty: Decimal
    ) -> None:
        now = self.clock.wall_ms()
        notional = price * qty
        maker_rate, taker_rate = spec.fees
        base, quote = spec.numerator, spec.denominator
        for order, is_maker in ((maker, True), (taker, False)):
            acct = self.accounts[order.user_id]
            fee, tax = self._fee_split(notional, maker_rate if is_maker else taker_rate)
            if order.side == "buy":
                release = (
                    qty * order.price * (1 + taker_rate) if order.method == "limit" else notional * (1 + taker_rate)
                )
                release = min(release, order.locked)
                order.locked -= release
                acct.locked[quote] = acct.locked.get(quote, ZERO) - release
                acct.free[quote] = acct.free.get(quote, ZERO) + release - notional - fee - tax
                acct.free[base] = acct.free.get(base, ZERO) + qty
            else:
                order.locked -= qty
                acct.locked[base] = acct.locked.get(base, ZERO) - qty
                acct.free[quote] = acct.free.get(quote, ZERO) + notional - fee - tax
            self.fees_collected[quote] = self.fees_collected.get(quote, ZERO) + fee + tax
            order.left -= notional if (order.method == "market" and order.side == "buy") else qty
            order.updated_ms = now
            if order.first_fill_price is None:
                order.first_fill_price = price
            order.status = "Closed" if order.left <= 0 else "Partial"
            trade = UserTrade(
                id=self._next_trade_id,
                order_id=order.id,
                client_id=order.client_id,
                user_id=order.user_id,
                symbol=spec.name,
                side=order.side,
                price=price,
                amount=qty,
                fee=fee,
                tax=tax,
                ts_ms=now,
                maker=is_maker,
            )
            if acct.keep_history:
                acct.trades.append(trade)
            self._emit(FillEvent(trade, _copy(order)))
        public = PublicTrade(self._next_trade_id, spec.name, price, qty, taker.side, now)
        self._next_trade_id += 1
        self.public_trades[spec.name].append(public)
        stats = self.stats[spec.name]
        if stats is None:
            self.stats[spec.name] = SymbolStats(price, price, price, price, qty, notional)
        else:
            stats.last = price
            stats.high = max(stats.high, price)
            stats.low = min(stats.low, price)
            stats.volume += qty
            stats.quote_volume += notional
        self._emit(PublicTradeEvent(public))
        self.book_version[spec.name] += 1
        if maker.left <= 0:
            book.side(maker.side).remove(maker)
            self._finish(maker)
        else:
            self._emit(OrderEvent("update", _copy(maker)))

    def _finish(self, order: SimOrder) -> None:
        """The order leaves the book for good: release what it still reserves, announce the removal."""
        acct = self.accounts[order.user_id]
        if order.locked:
            spec = self.specs[order.symbol]
            asset = spec.denominator if order.side == "buy" else spec.numerator
            acct.locked[asset] = acct.locked.get(asset, ZERO) - order.locked
            acct.free[asset] = acct.free.get(asset, ZERO) + order.locked
            order.locked = ZERO
        self._pending_cancels.pop(order.id, None)
        order.cancel_due_ms = None
        self._emit(OrderEvent("delete", _copy(order)))
        if not acct.keep_history:
            acct.orders.pop(order.id, None)

    def request_cancel(self, user_id: int, order_id: int) -> bool:
        """Accept a cancel; it completes at ``complete_due_cancels`` after ``cancel_delay_ms``.

        Returns True if a cancel is now pending, False for an already cancelled order (accepted, no-op).
        Raises 1051 for an unknown order and 1050 for one that can no longer be cancelled.
        """
        with self._lock:
            acct = self._account(user_id)
            order = acct.orders.get(order_id)
            if order is None:
                raise SimRejection("NO_ORDER_MATCHES_YOUR_REQUEST", 1051)
            if order.status == "Canceled":
                return False
            if not order.is_open or order.method == "market":
                raise SimRejection("ORDER_COULD_NOT_BE_CANCELED", 1050)
            if order.cancel_due_ms is None:
                order.cancel_due_ms = self.clock.wall_ms() + self.cancel_delay_ms
                self._pending_cancels[order.id] = order
            return True

    def complete_due_cancels(self, now_ms: int | None = None) -> list[SimOrder]:
        """Apply every accepted cancel that is due (all of them when ``now_ms`` is None)."""
        with self._lock, localcontext(_CTX):
            done: list[SimOrder] = []
            for order in list(self._pending_cancels.values()):
                if now_ms is not None and order.cancel_due_ms is not None and order.cancel_due_ms > now_ms:
                    continue
                self._pending_cancels.pop(order.id, None)
                if order.is_open:
                    self._cancel_now(order)
                    done.append(_copy(order))
            return done

    @property
    def pending_cancel_count(self) -> int:
        return len(self._pending_cancels)

    def _cancel_now(self, order: SimOrder) -> None:
        book = self._books[order.symbol]
        book.side(order.side).remove(order)
        order.status = "Canceled"
        order.updated_ms = self.clock.wall_ms()
        self.book_version[order.symbol] += 1
        self._finish(order)

    def cancel_all(self, user_id: int, symbol: str | None = None) -> int:
        """Cancel every open order of an account at once (liquidity housekeeping, replay)."""
        with self._lock, localcontext(_CTX):
            acct = self._account(user_id)
            victims = [o for o in acct.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]
            for order in victims:
                self._cancel_now(order)
            return len(victims)

    def cancel_order_now(self, user_id: int, order_id: int) -> bool:
        with self._lock, localcontext(_CTX):
            order = self._account(user_id).orders.get(order_id)
            if order is None or not order.is_open:
                return False
            self._cancel_now(order)
            return True

    def replace_book(
        self,
        symbol: str,
        bids: Iterable[tuple[Decimal, Decimal]],
        asks: Iterable[tuple[Decimal, Decimal]],
        *,
        user_id: int = LIQUIDITY_USER_ID,
    ) -> None:
        """Make ``symbol``'s external liquidity exactly the given (price, amount) levels.

        The liquidity account's resting orders are withdrawn and the new levels placed (asks then bids);
        a level that crosses a resting account order trades against it at the account order's price, the
        rest of the level rests. The reference price (for the limit-price band) becomes the new mid.
        Values may be ``PriceLevel`` objects or (price, amount) pairs.
        """
        with self._lock, localcontext(_CTX):
            self.cancel_all(user_id, symbol)
            ask_levels = [_level(x) for x in asks]
            bid_levels = [_level(x) for x in bids]
            for price, amount in sorted(ask_levels):
                if amount > 0 and price > 0:
                    self.submit(user_id, symbol, "sell", "limit", amount, price, validate=False)
            for price, amount in sorted(bid_levels, reverse=True):
                if amount > 0 and price > 0:
                    self.submit(user_id, symbol, "buy", "limit", amount, price, validate=False)
            if bid_levels and ask_levels:
                best_bid = max(p for p, _ in bid_levels)
                best_ask = min(p for p, _ in ask_levels)
                self.set_reference_price(symbol, (best_bid + best_ask) / 2)


def _level(item: object) -> tuple[Decimal, Decimal]:
    price = getattr(item, "price", None)
    amount = getattr(item, "amount", None)
    if price is not None and amount is not None:
        return Decimal(price), Decimal(amount)
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return Decimal(item[0]), Decimal(item[1])
    raise TypeError("a book level must be a PriceLevel or a (price, amount) pair")
