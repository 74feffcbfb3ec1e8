"""BtcturkExchange: ExchangeReader + OrderGateway over BtcturkHttp, in btcbot's domain types."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btcbot.domain.clock import Clock, SystemClock
from btcbot.domain.orders import Balance, Fill, OrderIntent, SubmitAck, VenueOrder, VenueOrderStatus
from btcbot.domain.rules import SymbolRules
from btcbot.errors import AuthRefusedLocally, ExchangeError, OrderNotFound, TransientError
from btcbot.exchange.btcturk import convert
from btcbot.exchange.btcturk.http import BtcturkHttp
from btcbot.exchange.btcturk.rules_cache import DEFAULT_MAX_AGE_S, RulesCache
from btcbot.exchange.btcturk.translate import is_price_band_rejection

if TYPE_CHECKING:
    from btcbot.arming import WriteToken
    from btcbot.exchange.btcturk.private_ws import PrivateOrderFeed
    from btcbot.settings import Settings

_FINAL = frozenset({VenueOrderStatus.CANCELED, VenueOrderStatus.CLOSED})


@dataclass(frozen=True, slots=True)
class CancelConfirmation:
    """What a follow-up read says after a cancel was accepted. ``confirmed`` only when a final state was seen."""

    exchange_order_id: int
    confirmed: bool
    order: VenueOrder | None

    @property
    def cancelled(self) -> bool:
        return self.confirmed and self.order is not None and self.order.status is VenueOrderStatus.CANCELED

    @property
    def filled(self) -> bool:
        """The fill won the race against the cancel."""
        return self.confirmed and self.order is not None and self.order.status is VenueOrderStatus.CLOSED


class BtcturkExchange:
    """The runtime's reader and gateway for BTCTurk. Writes need a WriteToken (only btcbot.arming mints one)."""

    def __init__(
        self,
        http: BtcturkHttp,
        *,
        rules_max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Clock | None = None,
        owns_http: bool = False,
    ) -> None:
        self.http = http
        self.rules_cache = RulesCache(http, max_age_s=rules_max_age_s)
        self._clock: Clock = clock or SystemClock()
        self._owns_http = owns_http

    @classmethod
    def from_settings(cls, settings: Settings, **http_kwargs: Any) -> BtcturkExchange:
        return cls(BtcturkHttp.from_settings(settings, **http_kwargs), owns_http=True)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __repr__(self) -> str:
        return f"BtcturkExchange({self.http!r})"

    # ------------------------------------------------------------------ ExchangeReader
    def symbol_rules(self, symbol: str) -> SymbolRules:
        return self.rules_cache.rules(symbol)

    def balances(self) -> list[Balance]:
        return [convert.balance(r) for r in self.http.balances()]

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        data = self.http.open_orders(symbol)
        return [convert.venue_order(r) for r in (*data.bids, *data.asks)]

    def all_orders(self, symbol: str, start_ms: int | None = None) -> list[VenueOrder]:
        return [convert.venue_order(r) for r in self.http.all_orders(symbol, start_ms)]

    def get_order(self, exchange_order_id: int) -> VenueOrder:
        return convert.venue_order(self.http.get_order(exchange_order_id))

    def user_trades(self, symbol: str | None = None, start_ms: int | None = None) -> list[Fill]:
        fills = [convert.fill(r) for r in self.http.user_trades(symbol, start_ms)]
        if symbol:
            wanted = convert.norm_symbol(symbol)
            fills = [f for f in fills if f.symbol == wanted]
        return fills

    def server_time_ms(self) -> int:
        return self.http.server_time_ms()

    # ------------------------------------------------------------------ OrderGateway
    def submit_order(self, intent: OrderIntent, token: WriteToken) -> SubmitAck:
        try:
            reply = self.http.submit_order(intent, token)
        except ExchangeError as exc:
            if is_price_band_rejection(exc):
                # Our cached band was out of date; the next decision must see the venue's current one.
                self.rules_cache.invalidate()
            raise
        return SubmitAck(
            exchange_order_id=reply.id,
            client_order_id=intent.client_order_id,
            ts_ms=reply.datetime or self._clock.wall_ms(),
        )

    def cancel_order(self, exchange_order_id: int, token: WriteToken) -> None:
        """Accepted, not done: confirm with ``confirm_cancel`` (or a WS 452) before calling it cancelled."""
        self.http.cancel_order(exchange_order_id, token)

    # ------------------------------------------------------------------ helpers for the order manager/reconciler
    def confirm_cancel(
        self,
        exchange_order_id: int,
        *,
        timeout_s: float = 5.0,
        poll_interval_s: float = 0.2,
        order_events: PrivateOrderFeed | None = None,
    ) -> CancelConfirmation:
        """Wait until the order reaches a final state (Canceled, or Closed when a fill won) or time runs out.

        With a logged-in ``order_events`` feed it waits for the venue's 452 and then reads the order once;
        otherwise (or if no 452 comes) it polls ``GET /order/{id}``.
        """
        if (
            order_events is not None
            and order_events.logged_in.is_set()
            and order_events.wait_for_delete(exchange_order_id, timeout_s) is not None
        ):
            try:
                order = self.get_order(exchange_order_id)
                if order.status in _FINAL:
                    return CancelConfirmation(exchange_order_id, True, order)
            except AuthRefusedLocally:
                raise  # the credentials need the operator, not another look
            except (OrderNotFound, TransientError):
                pass
            timeout_s = min(timeout_s, 1.0)  # the 452 came; only the read lags: poll briefly
        deadline_ns = self._clock.monotonic_ns() + int(timeout_s * 1e9)
        never = threading.Event()
        last: VenueOrder | None = None
        while True:
            try:
                last = self.get_order(exchange_order_id)
            except OrderNotFound:
                last = None
            except AuthRefusedLocally:
                raise
            except TransientError:
                pass  # keep polling until the deadline; the caller reconciles if we run out
            if last is not None and last.status in _FINAL:
                return CancelConfirmation(exchange_order_id, True, last)
            if self._clock.monotonic_ns() >= deadline_ns:
                return CancelConfirmation(exchange_order_id, False, last)
            self._clock.wait(never, poll_interval_s)

    def find_orders_by_client_id(
        self, symbol: str, client_order_id: str, start_ms: int | None = None
    ) -> list[VenueOrder]:
        """Every venue order carrying this client id (the venue does not enforce uniqueness), newest first."""
        found = {o.exchange_order_id: o for o in self.open_orders(symbol) if o.client_order_id == client_order_id}
        for o in self.all_orders(symbol, start_ms):
            if o.client_order_id == client_order_id:
                found.setdefault(o.exchange_order_id, o)
        return sorted(found.values(), key=lambda o: (o.created_ms, o.exchange_order_id), reverse=True)

    def find_order_by_client_id(
        self, symbol: str, client_order_id: str, start_ms: int | None = None
    ) -> VenueOrder | None:
        """The newest order with this client id (open orders first, then allOrders); None if there is none."""
        found = self.find_orders_by_client_id(symbol, client_order_id, start_ms)
        return found[0] if found else None
