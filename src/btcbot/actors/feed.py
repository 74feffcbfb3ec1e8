"""Market-data feed actor: one snapshot per symbol per cycle from the MarketDataSource (REST or WS)."""

from __future__ import annotations

import logging
from typing import Any

from btcbot.actors._base import ActorServices, BtcbotActor
from btcbot.actors.messages import BooksFetched, RunCycle
from btcbot.exchange.interfaces import MarketDataSource
from btcbot.runtime.cycle import SymbolBook
from btcbot.telemetry.tracing import inject, start_span

log = logging.getLogger(__name__)


class FeedActor(BtcbotActor):
    actor_name = "feed"

    def __init__(self, services: ActorServices, *, market_data: MarketDataSource) -> None:
        super().__init__(services)
        self._md = market_data

    def handle(self, message: Any) -> None:
        if not isinstance(message, RunCycle):
            raise TypeError(f"feed cannot handle {type(message).__name__}")
        ctx = message.ctx
        books: list[SymbolBook] = []
        with start_span("feed", carrier=message.trace, attributes={"btcbot.actor": self.actor_name}):
            for symbol in ctx.symbols:
                try:
                    books.append(SymbolBook(symbol, self._md.snapshot(symbol)))
                except Exception as exc:  # noqa: BLE001 - any feed failure means "no data": fail closed
                    log.warning("market data for %s unavailable: %s", symbol, type(exc).__name__)
                    books.append(SymbolBook(symbol, None, type(exc).__name__))
            trace = inject()
        self.tell("freshness_guard", BooksFetched(ctx=ctx, books=tuple(books), trace=trace))
