"""Exchange rules from exchangeinfo, cached with a refresh policy.

The venue serves exchangeinfo with ``max-age=30``, and the dynamic price band moves with the market, so the
cache refreshes on age and is invalidated when the venue rejects a price for being outside its band.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from btcbot.domain.rules import SymbolRules
from btcbot.errors import ProtocolError, SymbolNotTradable
from btcbot.exchange.btcturk.convert import norm_symbol, symbol_rules
from btcbot.exchange.btcturk.http import BtcturkHttp
from btcbot.exchange.btcturk.models import ExchangeInfo

DEFAULT_MAX_AGE_S = 30.0


class RulesCache:
    def __init__(
        self,
        http: BtcturkHttp,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self.max_age_s = max_age_s
        self._monotonic = monotonic
        self._info: ExchangeInfo | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        self.refreshes = 0

    def invalidate(self) -> None:
        with self._lock:
            self._info = None

    def exchange_info(self) -> ExchangeInfo:
        with self._lock:
            if self._info is None or self._monotonic() - self._fetched_at >= self.max_age_s:
                self._info = self._http.exchange_info()
                self._fetched_at = self._monotonic()
                self.refreshes += 1
            return self._info

    def rules(self, symbol: str) -> SymbolRules:
        """Rules of a TRADING symbol; SymbolNotTradable (with what to do) otherwise."""
        wanted = norm_symbol(symbol)
        all_info = self.exchange_info()
        info = all_info.find(wanted)
        if info is None and wanted in all_info.unparsed:
            raise ProtocolError(
                f"BTCTurk exchangeinfo entry for {wanted} has an unexpected shape; not trading it until it parses"
            )
        if info is None:
            raise SymbolNotTradable(
                f"{wanted} is not listed in BTCTurk exchangeinfo; remove it from UNIVERSE_SYMBOLS or fix its spelling "
                "(e.g. BTCTRY)"
            )
        if info.status != "TRADING":
            raise SymbolNotTradable(
                f"{wanted} has status {info.status!r} on BTCTurk (not TRADING); no orders until it trades again"
            )
        return symbol_rules(info)
