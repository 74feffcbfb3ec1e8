"""An in-process venue (``ExchangeReader`` + ``OrderGateway``) over the simulator's ``MatchingEngine``.

It is the only venue replay ever talks to: there is no network code behind it, so an armed replay can never
reach a real exchange (``assert_in_process``). Every call first brings the recorded market up to the
clock's now, so a query sees what happened in virtual time since the previous call.

The engine holds the recorded book only when it matters, because loading a book into it costs a few
milliseconds while applying a recorded event costs about a microsecond: before each of our submits (a
marketable order takes the recorded liquidity, taker fee), and when a recorded event shows the opposite side
at or through one of our resting orders (the engine then fills it at its own price, maker fee, stamped with
that event's time). Fees, tax split, reservations and the venue's validation are the simulator's.
"""

from __future__ import annotations

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
    OrderNotFound,
    RejectedByVenue,
    SymbolNotTradable,
)
from btcbot.replay.dataset import DIFF, Event
from btcbot.replay.market import RecordedMarket
from btcbot.replay.summary import EquityCurve, deltas, value_in_quote
from btcbot.sim.engine import MatchingEngine, SimOrder, SimRejection, UserTrade
from btcbot.sim.symbols import SymbolSpec

if TYPE_CHECKING:
    import threading

    from btcbot.arming import WriteToken

# The simulator's demo account, so a replay starts from the same funds as the run that was recorded.
DEMO_BALANCES: Final = {"TRY": Decimal("1000000"), "BTC": Decimal("1"), "ETH": Decimal("20"), "USDT": Decimal("10000")}
ACCOUNT_ID: Final = 4242
_FUNDS_CODES: Final = frozenset({1055, 1122})
_NOT_FOUND_CODES: Final = frozenset({1051})


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
    ) -> None:
        self._market = market
        self._clock = clock
        self._rules = rules
        self._engine_clock = _EngineClock(clock)
        self.engine = MatchingEngine(
            [_spec(r, i) for i, r in enumerate(rules.values(), start=1)], clock=self._engine_clock
        )
        self.engine.add_account(ACCOUNT_ID, dict(DEMO_BALANCES if balances is None else balances))
        self._lock = market.lock  # one lock with the market: listener and queries never deadlock
        self._loaded_version: dict[str, int] = {}
        # symbol -> [(is_buy, price)] of our resting orders: the per-event trigger reads only this.
        self._resting: dict[str, list[tuple[bool, float]]] = {}
        self.submits = 0
        self.rejects = 0
        self.cancels = 0
        self.start_balances = self.account_totals()
        self.curve = EquityCurve()
        self._last_sample_ms: int | None = None

    # ----- ExchangeReader -----
    def symbol_rules(self, symbol: str) -> SymbolRules:
        rules = self._rules.get(symbol)
        if rules is None or not rules.tradable:
            raise SymbolNotTradable(f"{symbol} is not tradable in this dataset (not recorded or not TRADING)")
        band = self.engine.price_band(symbol)
        if band is None:
            return rules
        return replace(rules, minimum_limit_order_price=band[0], maximum_limit_order_price=band[1])

    def balances(self) -> list[Balance]:
        with self._lock:
            self._sync()
            return [
                Balance(asset=a, total=free + locked, free=free, locked=locked)
                for a, (free, locked) in self.engine.balances(ACCOUNT_ID).items()
            ]

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        with self._lock:
            self._sync()
            orders = self.engine.orders(ACCOUNT_ID, symbol, open_only=True)
            return [_venue_order(o) for o in sorted(orders, key=lambda o: o.id)]

    def all_orders(self, symbol: str, start_ms: int | None = None) -> list[VenueOrder]:
        with self._lock:
            self._sync()
            return [
                _venue_order(o)
                for o in self.engine.orders(ACCOUNT_ID, symbol)
                if start_ms is None or o.updated_ms >= start_ms
            ]

    def get_order(self, exchange_order_id: int) -> VenueOrder:
        with self._lock:
            self._sync()
            order = self.engine.get_order(ACCOUNT_ID, exchange_order_id)
            if order is None:
                raise OrderNotFound(f"order {exchange_order_id} not found", venue_code=1051)
            return _venue_order(order)

    def user_trades(self, symbol: str | None = None, start_ms: int | None = None) -> list[Fill]:
        with self._lock:
            self._sync()
            return [
                _fill(t)
                for t in self.engine.user_trades(ACCOUNT_ID)
                if (symbol is None or t.symbol == symbol) and (start_ms is None or t.ts_ms >= start_ms)
            ]

    def server_time_ms(self) -> int:
        return self._clock.wall_ms()

    # ----- OrderGateway -----
    def submit_order(self, intent: OrderIntent, token: WriteToken) -> SubmitAck:
        token.check_at_send("submit")
        with self._lock:
            self._sync()
            self.submits += 1
            if intent.symbol not in self._rules:
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
        with self._lock:
            self._sync()
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
    def _sync(self) -> None:
        now = self._clock.wall_ms()
        self._market.advance_to(now)
        if self.engine.pending_cancel_count:
            self._complete_cancels()
        if now != self._last_sample_ms:
            self.sample_equity(now)

    def sample_equity(self, now_ms: int) -> None:
        """One point of the PnL curve (TRY at the recorded mids); skipped while a needed mid is unknown."""
        with self._lock:
            self._last_sample_ms = now_ms
            mids = self.mids()
            change = deltas(self.start_balances, self.account_totals())
            pnl = value_in_quote(change, mids)
            if pnl is None:
                return
            if self.curve.base_value is None:
                traded = {a: v for a, v in self.start_balances.items() if a == "TRY" or f"{a}TRY" in mids}
                self.curve.base_value = value_in_quote(traded, mids)
            self.curve.add(now_ms, pnl)

    def mids(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for symbol, book in self._market.books.items():
            if book.bids and book.asks and not book.broken:
                bid = Decimal(max(book.bids, key=float))
                ask = Decimal(min(book.asks, key=float))
                out[symbol] = (bid + ask) / 2
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
            self.engine.replace_book(symbol, book.levels("bids"), book.levels("asks"))

    def _refresh_resting(self, symbol: str) -> None:
        resting = [(o.side == "buy", float(o.price)) for o in self.engine.orders(ACCOUNT_ID, symbol, open_only=True)]
        if resting:
            self._resting[symbol] = resting
            self._market.watch(symbol, self._on_event)
        else:
            self._resting.pop(symbol, None)
            self._market.watch(symbol, None)

    def _on_event(self, ev: Event) -> None:
        """A recorded event for a symbol we rest on: if it reaches one of our orders, let the engine match."""
        resting = self._resting.get(ev[3])
        if not resting:
            return
        diff = ev[0] == DIFF
        hit = False
        for is_buy, price in resting:
            for lv in ev[6] if is_buy else ev[5]:
                if diff and lv[2] == 3:
                    continue
                p = float(lv[0])
                if (p <= price if is_buy else p >= price) and float(lv[1]) > 0:
                    hit = True
                    break
            if hit:
                break
        if not hit:
            return
        self._engine_clock.pinned_ms = ev[1]
        try:
            self._load_book(ev[3])
        finally:
            self._engine_clock.pinned_ms = None
        self._refresh_resting(ev[3])

    # ----- for the backtest summary -----
    def fills(self) -> list[Fill]:
        with self._lock:
            return [_fill(t) for t in self.engine.user_trades(ACCOUNT_ID)]
