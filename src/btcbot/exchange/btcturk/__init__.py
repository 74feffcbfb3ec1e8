"""The BTCTurk adapter: the only way btcbot talks to BTCTurk (REST + WebSocket)."""

from __future__ import annotations

from btcbot.exchange.btcturk.clock import ClockOffset, measure_clock_offset, stamp_window_threatened
from btcbot.exchange.btcturk.exchange import BtcturkExchange, CancelConfirmation
from btcbot.exchange.btcturk.http import BtcturkHttp

__all__ = [
    "BtcturkExchange",
    "BtcturkHttp",
    "CancelConfirmation",
    "ClockOffset",
    "PrivateOrderFeed",
    "build_market_data",
    "measure_clock_offset",
    "stamp_window_threatened",
]


def __getattr__(name: str) -> object:
    # The WebSocket stack is imported only when market data is built.
    if name == "build_market_data":
        from btcbot.exchange.btcturk.market_data import build_market_data

        return build_market_data
    if name == "PrivateOrderFeed":
        from btcbot.exchange.btcturk.private_ws import PrivateOrderFeed

        return PrivateOrderFeed
    raise AttributeError(name)
