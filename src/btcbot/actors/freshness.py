"""Freshness-guard actor: blocks stale, invalid or missing books (fail closed)."""

from __future__ import annotations

from typing import Any

from btcbot import reason_codes as rc
from btcbot.actors._base import ActorServices, BtcbotActor
from btcbot.actors.messages import BooksChecked, BooksFetched
from btcbot.runtime.cycle import FreshBook, SymbolOutcome
from btcbot.runtime.freshness import assess_book
from btcbot.telemetry.tracing import inject, start_span


class FreshnessGuardActor(BtcbotActor):
    actor_name = "freshness_guard"

    def __init__(self, services: ActorServices, *, max_age_ms: int) -> None:
        super().__init__(services)
        self._max_age_ms = max_age_ms

    def handle(self, message: Any) -> None:
        if not isinstance(message, BooksFetched):
            raise TypeError(f"freshness guard cannot handle {type(message).__name__}")
        clock = self.services.clock
        fresh: list[FreshBook] = []
        outcomes: list[SymbolOutcome] = []
        with start_span("freshness_guard", carrier=message.trace, attributes={"btcbot.actor": self.actor_name}):
            now_wall, now_mono = clock.wall_ms(), clock.monotonic_ns()
            for sb in message.books:
                v = assess_book(sb.book, now_wall_ms=now_wall, now_monotonic_ns=now_mono, max_age_ms=self._max_age_ms)
                if v.ok and sb.book is not None:
                    fresh.append(FreshBook(sb.symbol, sb.book, v))
                    continue
                details: list[tuple[str, str]] = [("max_age_ms", str(self._max_age_ms))]
                if v.exchange_age_ms is not None:
                    details.append(("exchange_age_ms", f"{v.exchange_age_ms:.0f}"))
                if v.local_age_ms is not None:
                    details.append(("local_age_ms", f"{v.local_age_ms:.0f}"))
                if sb.error:
                    details.append(("error", sb.error))
                if sb.book is not None and v.invalid_book:
                    details.append(("best_bid", str(sb.book.best_bid)))
                    details.append(("best_ask", str(sb.book.best_ask)))
                outcomes.append(
                    SymbolOutcome(
                        sb.symbol, "block", v.reason_code or rc.MARKET_DATA_UNAVAILABLE, tuple(details), v.age_ms
                    )
                )
            trace = inject()
        self.tell("strategy", BooksChecked(ctx=message.ctx, fresh=tuple(fresh), outcomes=tuple(outcomes), trace=trace))
