"""This bot's position per symbol, from its own fills: net base quantity, average entry price, realized PnL, fees.

The position is what MAX_POSITION_BASE caps and what a strategy sees as ``view.position``. It is built from the
bot's fills as the state DB records them (every run of this account scope, so a restart neither forgets nor
double-counts inventory), never from the account's balances: holdings the account had before are not the bot's.
``PositionBook`` is the order manager's plain, single-threaded accumulator; ``AccountState`` the frozen copy that
travels with a cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from btcbot.domain.orders import Fill, OrderSide

RECENT_FILLS_PER_SYMBOL = 20
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class SymbolPosition:
    symbol: str
    base: Decimal = _ZERO  # bought minus sold
    average_cost: Decimal | None = None  # average entry price of ``base``; None when flat
    realized_pnl: Decimal = _ZERO  # quote, closing trades against the average cost, before fees
    fees: Decimal = _ZERO  # quote, fee + tax


def apply_fill(pos: SymbolPosition, fill: Fill) -> SymbolPosition:
    """The position after one fill (average-cost accounting; a fill through zero opens the rest at its price)."""
    signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
    base, avg, realized = pos.base, pos.average_cost, pos.realized_pnl
    new_base = base + signed
    if base == 0 or (base > 0) == (signed > 0):
        avg = ((avg or _ZERO) * abs(base) + fill.price * fill.quantity) / abs(new_base)
    else:
        closed = min(abs(base), fill.quantity)
        assert avg is not None  # noqa: S101 - a non-zero position always has an average cost
        realized += (fill.price - avg) * closed * (1 if base > 0 else -1)
        if new_base == 0:
            avg = None
        elif (new_base > 0) != (base > 0):
            avg = fill.price
    return replace(pos, base=new_base, average_cost=avg, realized_pnl=realized, fees=pos.fees + fill.fee + fill.tax)


@dataclass(frozen=True, slots=True)
class AccountState:
    """The bot's positions and recent fills (oldest first), as of the end of the previous cycle."""

    positions: tuple[SymbolPosition, ...] = ()
    recent_fills: tuple[Fill, ...] = ()

    def position(self, symbol: str) -> SymbolPosition:
        return next((p for p in self.positions if p.symbol == symbol), SymbolPosition(symbol))

    def fills_on(self, symbol: str) -> tuple[Fill, ...]:
        return tuple(f for f in self.recent_fills if f.symbol == symbol)

    def net_base(self) -> dict[str, Decimal]:
        return {p.symbol: p.base for p in self.positions}


class PositionBook:
    """Positions and the last few fills per symbol; the caller feeds each fill once (the fills table's key)."""

    def __init__(self, fills: Iterable[Fill] = (), *, recent: int = RECENT_FILLS_PER_SYMBOL) -> None:
        self._positions: dict[str, SymbolPosition] = {}
        self._recent: dict[str, deque[Fill]] = {}
        self._keep = recent
        for f in fills:
            self.apply(f)

    def apply(self, fill: Fill) -> None:
        pos = self._positions.get(fill.symbol) or SymbolPosition(fill.symbol)
        self._positions[fill.symbol] = apply_fill(pos, fill)
        self._recent.setdefault(fill.symbol, deque(maxlen=self._keep)).append(fill)

    def snapshot(self) -> AccountState:
        fills = sorted((f for q in self._recent.values() for f in q), key=lambda f: (f.ts_ms, f.trade_id))
        return AccountState(tuple(self._positions[s] for s in sorted(self._positions)), tuple(fills))
