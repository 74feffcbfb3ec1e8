"""Pick the market-data source the settings ask for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from btcbot.exchange.btcturk.http import BtcturkHttp
from btcbot.exchange.btcturk.rest_md import RestMarketData
from btcbot.exchange.interfaces import MarketDataSource
from btcbot.settings import MarketDataMode

if TYPE_CHECKING:
    from btcbot.settings import Settings


def build_market_data(settings: Settings, http: BtcturkHttp) -> MarketDataSource:
    """REST (fetch on snapshot) or WebSocket (reader thread; call start()), per MARKET_DATA_MODE."""
    if settings.market_data_mode is MarketDataMode.WS:
        from btcbot.exchange.btcturk.ws import WsMarketData

        return WsMarketData(
            settings.btcturk_ws_url,
            settings.universe_symbols,
            stale_after_ms=max(settings.max_market_data_age_ms * 2, 5000),
            rest_fallback=http if settings.ws_market_data_rest_fallback else None,
            fallback_after_ms=settings.max_market_data_age_ms,
        )
    return RestMarketData(http, settings.universe_symbols)
