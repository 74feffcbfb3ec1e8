"""The small interfaces the runtime uses to talk to a venue.

The BTCTurk adapter implements them over HTTP and WebSocket; replay implements them over the
simulator's matching engine in-process. Writes take a ``WriteToken`` that only ``btcbot.arming`` mints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from btcbot.arming import WriteToken
    from btcbot.domain.market import BookSnapshot
    from btcbot.domain.orders import Balance, Fill, OrderIntent, SubmitAck, VenueOrder
    from btcbot.domain.rules import SymbolRules


@runtime_checkable
class MarketDataSource(Protocol):
    """Keeps the freshest book per symbol; never blocks the caller on the network."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def snapshot(self, symbol: str) -> BookSnapshot | None:
        """The freshest book for ``symbol``, or None if none has arrived (REST mode fetches here)."""
        ...


@runtime_checkable
class ExchangeReader(Protocol):
    """Read-only venue access: rules, account state, order queries, clock."""

    def symbol_rules(self, symbol: str) -> SymbolRules:
        """Raises SymbolNotTradable if the symbol is unknown or not TRADING."""
        ...

    def balances(self) -> list[Balance]: ...

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]: ...

    def all_orders(self, symbol: str, start_ms: int | None = None) -> list[VenueOrder]: ...

    def get_order(self, exchange_order_id: int) -> VenueOrder:
        """Raises OrderNotFound."""
        ...

    def user_trades(self, symbol: str | None = None, start_ms: int | None = None) -> list[Fill]: ...

    def server_time_ms(self) -> int: ...


@runtime_checkable
class OrderGateway(Protocol):
    """Exchange writes. Each call re-checks its token at send time (see btcbot.arming)."""

    def submit_order(self, intent: OrderIntent, token: WriteToken) -> SubmitAck:
        """Raises RejectedByVenue, OutcomeUnknown, RateLimited, AuthenticationError, NotArmedError.

        Never retried: an unknown outcome is reported as OutcomeUnknown and resolved by reconciliation.
        """
        ...

    def cancel_order(self, exchange_order_id: int, token: WriteToken) -> None:
        """Returns when the venue *accepted* the cancel. It is not final until confirmed (452 or query)."""
        ...
