"""An in-process venue (``ExchangeReader`` + ``OrderGateway``) over the simulator's ``MatchingEngine``.

It is the only venue replay ever talks to: there is no network code behind it, so an armed replay can never
reach a real exchange (``assert_in_process``). Every call first brings the recorded market up to the
clock's now, so a query sees what happened in virtual time since the previous call.

The engine holds the recorded book only when it matters, because loading a book into it costs a few
milliseconds while applying a recorded event costs about a microsecond: before each of our submits (a
marketable order takes the recorded liquidity, taker fee), and when a recorded event shows the opposite side
at or through one of our resting orders (the engine then fills it at its own price, maker fee, stamped with
that event's time). Fees, tax split, reservations and the venue's validation are the simulator's.

Liquidity we took stays taken: a recorded level we traded against is loaded reduced by what we took until
the recording removes that level, so a level that sits in the book for a while (or is re-announced with a
new size) cannot fill the same order twice. Order entry takes ``latency_ms`` of virtual time: a submit or a
cancel reaches the engine that long after the runtime sent it (the market moves meanwhile, and a resting
order can still fill before its cancel lands), and the call returns then.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import defaultdict
from dataclasses import replace
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
from btcbot.errors import (
    InsufficientFunds,
    InvariantViolation,
    OrderNotCancellable,
    OrderNotFound,
    RejectedByVenue,
    SymbolNotTradable,
)
from btcbot.replay.accounting import BacktestFill, Touch
from btcbot.replay.dataset import DIFF, Event
from btcbot.replay.market import RecordedBook, RecordedMarket
from btcbot.sim.engine import (
    LIQUIDITY_USER_ID,
    ZERO,
    EngineEvent,
    FillEvent,
    MatchingEngine,
    SimOrder,
    SimRejection,
    UserTrade,
)
from btcbot.sim.symbols import SymbolSpec

if TYPE_CHECKING:
    from btcbot.arming import WriteToken

# The simulator's demo account, so a replay starts from the same funds as the run that was recorded.
DEMO_BALANCES: Final = {"TRY": Decimal("1000000"), "BTC": Decimal("1"), "ETH": Decimal("20"), "USDT": Decimal("10000")}
ACCOUNT_ID: Final = 4242
_FUNDS_CODES: Final = frozenset({1055, 1122})
_NOT_FOUND_CODES: Final = frozenset({1051})
_NOT_CANCELLABLE_CODES: Final = frozenset({1050})

# The BTCTurk request each venue call stands for (the limiter's keys, §3 of the API notes): rate-limit headroom.
R_BALANCES: Final = ("GET", "/api/v1/users/balances")
R_OPEN_ORDERS: Final = ("GET", "/api/v1/openOrders")
R_ALL_ORDERS: Final = ("GET", "/api/v1/allOrders")
R_ORDER_ID: Final = ("GET", "/api/v1/order/{orderId}")
R_USER_TRADES: Final = ("GET", "/api/v1/users/transactions/trade")
R_SUBMIT: Final = ("POST", "/api/v1/order")
R_CANCEL: Final = ("DELETE", "/api/v1/order")
VENUE_ROUTES: Final = (R_BALANCES, R_OPEN_ORDERS, R_ALL_ORDERS, R_ORDER_ID, R_USER_TRADES, R_SUBMIT, R_CANCEL)


class _EngineClock:
    """The venue's clock, pinned to a recorded event's time while that event is being matched."""

    def __init__(self, base: Clock) -> None:
        self._base = base
        self.pinned_ms: int | None = None

    def wall_ms(self) -> int:
        return self.pinned_ms if self.pinned_ms is not None else self._base.wall_ms()

    def monotonic_ns(self) -> int:
        return self._base.monotonic_ns()

    def wait(self, event: threading.Event, timeout_s: float) -> bool:
        return self._base.wait(event, timeout_s)


def assert_in_process(gateway: object) -> None:
    """Replay arms the runtime, so its gateway must be this in-process venue and nothing else."""
    if not isinstance(gateway, InProcessVenue):
        raise InvariantViolation(
            f"replay refused: the order gateway is {type(gateway).__name__}, not the in-process replay venue"
        )


def _spec(rules: SymbolRules, pair_id: int) -> SymbolSpec:
    return SymbolSpec(
        name=rules.symbol,
        pair_id=pair_id,
        numerator=rules.numerator,
        denominator=rules.denominator,
        numerator_scale=rules.numerator_scale,
        denominator_scale=rules.denominator_scale,
        has_fraction=rules.has_fraction,
        min_exchange_value=rules.min_exchange_value,
        initial_mid=Decimal(1),
        level_step=rules.price_quantum(),
        level_notional=Decimal(0),
        volatility=0.0,
        display_format="",
        order=pair_id,
        order_methods=rules.order_methods,
    )


def _venue_error(exc: SimRejection) -> RejectedByVenue:
    cls = (
        InsufficientFunds
        if exc.code in _FUNDS_CODES
        else OrderNotFound
        if exc.code in _NOT_FOUND_CODES
        else OrderNotCancellable
        if exc.code in _NOT_CANCELLABLE_CODES
        else RejectedByVenue
    )
    return cls(
        f"venue rejected the request: {exc.message} (code {exc.code})",
        http_status=exc.http_status,
        venue_code=exc.code,
        venue_message=exc.message,
    )


def _venue_order(o: SimOrder) -> VenueOrder:
    return VenueOrder(
        exchange_order_id=o.id,
        client_order_id=o.client_id or None,
        symbol=o.symbol,
        side=OrderSide(o.side),
        method=OrderMethod(o.method),
        price=o.price,
        quantity=o.quantity,
        left_amount=o.left,
        status=VenueOrderStatus(o.status),
        created_ms=o.created_ms,
        updated_ms=o.updated_ms,
    )


def _fill(t: UserTrade) -> Fill:
    return Fill(
        trade_id=t.id,
        exchange_order_id=t.order_id,
        client_order_id=t.client_id or None,
        symbol=t.symbol,
        side=OrderSide(t.side),
        price=t.price,
        quantity=t.amount,
        fee=t.fee,
        tax=t.tax,
        ts_ms=t.ts_ms,
    )


class InProcessVenue:
    """Fills this bot's orders against a ``RecordedMarket`` through the simulator's matching engine."""

    in_process: Final = True

    def __init__(
        self,
        market: RecordedMarket,
        clock: Clock,
        rules: dict[str, SymbolRules],
        *,
        balances: dict[str, Decimal] | None = None,
        latency_ms: int = 0,
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
        self._market = market
        self._clock = clock
        self.rules = rules
        self.latency_ms = latency_ms
        self._never = threading.Event()  # order entry waits on nothing but virtual time
        self._engine_clock = _EngineClock(clock)
        self.engine = MatchingEngine(
            [_spec(r, i) for i, r in enumerate(rules.values(), start=1)], clock=self._engine_clock
        )
        self.engine.add_account(ACCOUNT_ID, dict(DEMO_BALANCES if balances is None else balances))
        self.engine.subscribe(self._on_engine_event)
        self._lock = market.lock  # one lock with the market: listener and queries never deadlock
        self._loaded_version: dict[str, int] = {}
        # symbol -> (highest resting buy, lowest resting sell) of ours: the per-event trigger reads only this.
        self._resting: dict[str, tuple[float, float]] = {}
        # symbol -> "bids"|"asks" -> price -> how much of that recorded level our orders took (see the module
        # doc). Prices are floats here: the event path looks them up per event, and a recorded price string and
        # the engine's Decimal of it convert to the same float.
        self._taken: dict[str, dict[str, dict[float, Decimal]]] = {}
        self._half_trades: dict[int, FillEvent] = {}
        self.submits = 0
        self.rejects = 0
        self.cancels = 0
        # (method, route) -> the virtual ms of each request of that kind, for the rate-limit headroom.
        self.calls: dict[tuple[str, str], list[int]] = defaultdict(list)
        # (virtual ms, symbol -> recorded best bid and ask): what the equity curve is valued at.
        self.mark_samples: list[tuple[int, dict[str, Touch]]] = []
        self._last_sample: tuple[int, dict[str, Touch], int] | None = None
        self.start_balances = self.account_totals()

    # ----- ExchangeReader -----
    def symbol_rules(self, symbol: str) -> SymbolRules:
        rules = self.rules.get(symbol)
        if rules is None or not rules.tradable:
            raise SymbolNotTradable(f"{symbol} is not tradable in this dataset (not recorded or not TRADING)")
        band = self.engine.price_band(symbol)
        if band is None:
            return rules
        return replace(rules, minimum_limit_order_price=band[0], maximum_limit_order_price=band[1])

    def balances(self) -> list[Balance]:
        with self._lock:
            self._sync(R_BALANCES)
            return [
                Balance(asset=a, total=free + locked, free=free, locked=locked)
                for a, (free, locked) in self.engine.balances(ACCOUNT_ID).items()
            ]

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        with self._lock:
            self._sync(R_OPEN_ORDERS)
            symbols = self.rules if symbol is None else (symbol,)
            orders = [o for s in symbols if s in self.rules for o in self._resting_orders(s)]
            return [_venue_order(o) for o in sorted(orders, key=lambda o: o.id)]

    def all_orders(self, symbol: str, start_ms: int | None = None) -> list[VenueOrder]:
        with self._lock:
            self._sync(R_ALL_ORDERS)
            return [
                _venue_order(o)
                for o in self.engine.orders(ACCOUNT_ID, symbol)
                if start_ms is None or o.updated_ms >= start_ms
            ]

    def get_order(self, exchange_order_id: int) -> VenueOrder:
        with self._lock:
            self._sync(R_ORDER_ID)
            order = self.engine.get_order(ACCOUNT_ID, exchange_order_id)
            if order is None:
                raise OrderNotFound(f"order {exchange_order_id} not found", venue_code=1051)
            return _venue_order(order)

    def user_trades(self, symbol: str | None = None, start_ms: int | None = None) -> list[Fill]:
        with self._lock:
            self._sync(R_USER_TRADES)
            trades = self.engine.accounts[ACCOUNT_ID].trades  # in time order: the window is found by bisection
            first = 0 if start_ms is None else bisect.bisect_left(trades, start_ms, key=lambda t: t.ts_ms)
            return [_fill(t) for t in trades[first:] if symbol is None or t.symbol == symbol]

    def server_time_ms(self) -> int:
        return self._clock.wall_ms()

    # ----- OrderGateway -----
    def submit_order(self, intent: OrderIntent, token: WriteToken) -> SubmitAck:
        token.check_at_send("submit")
        self._in_flight()
        with self._lock:
            self._sync(R_SUBMIT)
            self.submits += 1
            if intent.symbol not in self.rules:
                self.rejects += 1
                raise SymbolNotTradable(f"{intent.symbol} is not in this dataset")
            self._load_book(intent.symbol)
            try:
                order = self.engine.submit(
                    ACCOUNT_ID,
                    intent.symbol,
                    "buy" if intent.side is OrderSide.BUY else "sell",
                    "limit" if intent.method is OrderMethod.LIMIT else "market",
                    intent.quantity,
                    intent.price if intent.method is OrderMethod.LIMIT else None,
                    intent.client_order_id,
                )
            except SimRejection as exc:
                self.rejects += 1
                raise _venue_error(exc) from None
            self._refresh_resting(intent.symbol)
            return SubmitAck(exchange_order_id=order.id, client_order_id=intent.client_order_id, ts_ms=order.created_ms)

    def cancel_order(self, exchange_order_id: int, token: WriteToken) -> None:
        token.check_at_send("cancel")
        self._in_flight()
        with self._lock:
            self._sync(R_CANCEL)  # what the market did while the cancel travelled can still fill the order
            try:
                pending = self.engine.request_cancel(ACCOUNT_ID, exchange_order_id)
            except SimRejection as exc:
                raise _venue_error(exc) from None
            if pending:
                self.cancels += 1
            order = self.engine.get_order(ACCOUNT_ID, exchange_order_id)
            if order is not None:
                self._complete_cancels()
                self._refresh_resting(order.symbol)

    # ----- matching -----
    def _in_flight(self) -> None:
        """A submit or cancel spends ``latency_ms`` of virtual time on its way (the runtime's call lasts as long)."""
        if self.latency_ms:
            self._clock.wait(self._never, self.latency_ms / 1000)

    def _sync(self, route: tuple[str, str]) -> None:
        now = self._clock.wall_ms()
        self.calls[route].append(now)
        self._market.advance_to(now)
        if self.engine.pending_cancel_count:
            self._complete_cancels()
        if self._last_sample is None or self._last_sample[0] != now:
            self.sample_marks(now)

    def sample_marks(self, now_ms: int) -> None:
        """One mark sample for the equity curve, unless neither the touches nor our fills changed since the last."""
        with self._lock:
            touches = self.touches()
            trades = len(self.engine.accounts[ACCOUNT_ID].trades)
            last = self._last_sample
            self._last_sample = (now_ms, touches, trades)
            if last is not None and last[1] == touches and last[2] == trades:
                return
            self.mark_samples.append((now_ms, touches))

    def touches(self) -> dict[str, Touch]:
        """Each symbol's recorded best bid and ask (as recorded: liquidity we took does not move them)."""
        out: dict[str, Touch] = {}
        for symbol, book in self._market.books.items():
            if book.bids and book.asks and not book.broken:
                out[symbol] = Touch(Decimal(max(book.bids, key=float)), Decimal(min(book.asks, key=float)))
        return out

    def account_totals(self) -> dict[str, Decimal]:
        with self._lock:
            return {a: free + locked for a, (free, locked) in self.engine.balances(ACCOUNT_ID).items()}

    def _complete_cancels(self) -> None:
        done = self.engine.complete_due_cancels(self._clock.wall_ms())
        for o in done:
            self._refresh_resting(o.symbol)

    def _load_book(self, symbol: str) -> None:
        book = self._market.books[symbol]
        if self._loaded_version.get(symbol) == book.version:
            return
        self._loaded_version[symbol] = book.version
        if book.recv_ms is None or book.broken:
            self.engine.replace_book(symbol, [], [])
        else:
            self.engine.replace_book(symbol, self._untaken(symbol, "bids", book), self._untaken(symbol, "asks", book))

    def _untaken(self, symbol: str, side: str, book: RecordedBook) -> list[tuple[Decimal, Decimal]]:
        """The recorded levels less what our orders took from them."""
        levels = book.levels(side)
        taken = self._taken.get(symbol)
        if taken is None or not taken[side]:
            return levels
        mine = taken[side]
        out = []
        for price, amount in levels:
            left = amount - mine.get(float(price), ZERO)
            if left > 0:
                out.append((price, left))
        return out

    def _forget_levels(self, ev: Event, taken: dict[str, dict[float, Decimal]]) -> None:
        """A level the recording removes (or a full book leaves out) is whole again when it comes back."""
        bids, asks = taken["bids"], taken["asks"]
        if ev[0] == DIFF:
            # Per event while we hold taken liquidity: plain loops, and a float only for a removal.
            for lv in ev[5]:
                if lv[2] == 3 and bids:
                    bids.pop(float(lv[0]), None)
            for lv in ev[6]:
                if lv[2] == 3 and asks:
                    asks.pop(float(lv[0]), None)
        else:
            for mine, levels in ((bids, ev[5]), (asks, ev[6])):
                kept = {float(lv[0]) for lv in levels}
                for price in [p for p in mine if p not in kept]:
                    del mine[price]
        if not bids and not asks:
            del self._taken[ev[3]]
            self._refresh_resting(ev[3])

    def _on_engine_event(self, event: EngineEvent) -> None:
        """Pair the two halves of each trade; one between us and the recorded liquidity marks that level taken."""
        if not isinstance(event, FillEvent):
            return
        other = self._half_trades.pop(event.trade.id, None)
        if other is None:
            self._half_trades[event.trade.id] = event
            return
        ours, theirs = (event, other) if event.trade.user_id == ACCOUNT_ID else (other, event)
        if ours.trade.user_id != ACCOUNT_ID or theirs.trade.user_id != LIQUIDITY_USER_ID:
            return
        level = theirs.order
        taken = self._taken.setdefault(level.symbol, {"bids": {}, "asks": {}})
        mine = taken["asks" if level.side == "sell" else "bids"]
        price = float(level.price)
        mine[price] = mine.get(price, ZERO) + theirs.trade.amount

    def _resting_orders(self, symbol: str) -> list[SimOrder]:
        """Our open orders on ``symbol``: those in its book. (The account's order list also holds every order
        the run ever placed; scanning it at each query made a long backtest quadratic.)"""
        return [
            o for side in ("buy", "sell") for o in self.engine.resting_live(symbol, side) if o.user_id == ACCOUNT_ID
        ]

    def _refresh_resting(self, symbol: str) -> None:
        orders = self._resting_orders(symbol)
        buys = [float(o.price) for o in orders if o.side == "buy"]
        sells = [float(o.price) for o in orders if o.side == "sell"]
        if orders:
            self._resting[symbol] = (max(buys, default=-math.inf), min(sells, default=math.inf))
        else:
            self._resting.pop(symbol, None)
        # Watched while we rest there, and while we hold taken liquidity there (to see those levels go).
        watched = bool(orders) or symbol in self._taken
        self._market.watch(symbol, self._on_event if watched else None)

    def _on_event(self, ev: Event) -> None:
        """A recorded event for a symbol we watch: if it reaches one of our orders, let the engine match.

        Called for every event of a symbol we rest on, so the test is plain loops over the event's one or two
        levels (an ask at or under our highest buy, a bid at or over our lowest sell; a removal reaches nothing).
        """
        symbol = ev[3]
        taken = self._taken.get(symbol)
        if taken is not None:
            self._forget_levels(ev, taken)
        resting = self._resting.get(symbol)
        if resting is None:
            return
        top_buy, low_sell = resting
        diff = ev[0] == DIFF
        for lv in ev[6]:
            if float(lv[0]) <= top_buy and not (diff and lv[2] == 3):
                break
        else:
            for lv in ev[5]:
                if float(lv[0]) >= low_sell and not (diff and lv[2] == 3):
                    break
            else:
                return
        self._engine_clock.pinned_ms = ev[1]
        try:
            self._load_book(symbol)
        finally:
            self._engine_clock.pinned_ms = None
        self._refresh_resting(symbol)

    # ----- for the backtest summary -----
    def backtest_fills(self) -> list[BacktestFill]:
        with self._lock:
            return [BacktestFill(_fill(t), t.maker) for t in self.engine.user_trades(ACCOUNT_ID)]
