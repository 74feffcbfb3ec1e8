"""``MarketDataSource`` over a recorded dataset, in virtual time."""

from __future__ import annotations

from btcbot.domain.clock import Clock
from btcbot.domain.market import BookSnapshot
from btcbot.replay.market import RecordedMarket


class DatasetFeed:
    """The freshest recorded book as of the clock's now: what a live feed would have held at that moment.

    ``snapshot`` first applies every event received up to now (see ``RecordedMarket``), so book ages,
    gaps and frozen stretches reach the freshness guard exactly as they were recorded.
    """

    def __init__(self, market: RecordedMarket, clock: Clock) -> None:
        self._market = market
        self._clock = clock
        self._started = False

    @property
    def market(self) -> RecordedMarket:
        return self._market

    def start(self) -> None:
        self._started = True

    def stop(self) -> None:
        self._started = False

    def snapshot(self, symbol: str) -> BookSnapshot | None:
        self._market.advance_to(self._clock.wall_ms())
        return self._market.snapshot(symbol)
