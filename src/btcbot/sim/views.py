"""The account's private order views, as the venue serves them: possibly behind its matching engine.

BTCTurk answers openOrders, allOrders, ``order/{id}`` and the user-trade history from views that can trail the
matching engine, most of all right after timeouts and 5xx: an order the engine accepted can be missing from
every view for seconds. The fault ``order_view_lag_ms`` reproduces that: these four reads then show the
engine's state as it was that long ago.

History is kept cheaply: one immutable snapshot per change of an order (inserted, each fill, removed) of an
account that keeps history, stamped with the venue's clock and appended as the engine announces it. A view
"as of" a time picks, per order, the newest snapshot stamped no later than that time; an order with none did
not exist yet. Trades are immutable and carry their own time, so they need no history of their own.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable

from btcbot.domain.clock import Clock
from btcbot.sim.engine import EngineEvent, FillEvent, MatchingEngine, OrderEvent, SimOrder, UserTrade


class OrderViews:
    """Reads of one engine's account orders and trades, delayed by ``lag_ms()`` (0: the engine itself)."""

    def __init__(self, engine: MatchingEngine, clock: Clock, lag_ms: Callable[[], int]) -> None:
        self._engine = engine
        self._clock = clock
        self._lag_ms = lag_ms
        self._lock = threading.Lock()
        # order id -> (stamps, snapshots), oldest first; stamps never decrease (appended as events happen).
        self._versions: dict[int, tuple[list[int], list[SimOrder]]] = {}
        self._ids_by_user: dict[int, list[int]] = {}
        engine.subscribe(self._on_event)

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, (OrderEvent, FillEvent)):
            order = event.order
            account = self._engine.accounts.get(order.user_id)
            if account is None or not account.keep_history:
                return  # the synthetic market's participants have no private views to serve
            now = self._clock.wall_ms()
            with self._lock:
                entry = self._versions.get(order.id)
                if entry is None:
                    entry = ([], [])
                    self._versions[order.id] = entry
                    self._ids_by_user.setdefault(order.user_id, []).append(order.id)
                stamps, snaps = entry
                # A clock that moved backwards (a clock_skew_ms change) must not unsort the stamps.
                stamps.append(max(now, stamps[-1]) if stamps else now)
                snaps.append(order)

    def _cutoff(self) -> int | None:
        lag = self._lag_ms()
        return self._clock.wall_ms() - lag if lag > 0 else None

    def _as_of(self, order_id: int, cutoff: int) -> SimOrder | None:
        entry = self._versions.get(order_id)
        if entry is None:
            return None
        stamps, snaps = entry
        idx = bisect.bisect_right(stamps, cutoff)
        return snaps[idx - 1] if idx else None

    def orders(self, user_id: int, symbol: str | None = None, *, open_only: bool = False) -> list[SimOrder]:
        cutoff = self._cutoff()
        if cutoff is None:
            return self._engine.orders(user_id, symbol, open_only=open_only)
        with self._lock:
            seen = [self._as_of(oid, cutoff) for oid in self._ids_by_user.get(user_id, ())]
        return [
            o for o in seen if o is not None and (symbol is None or o.symbol == symbol) and (not open_only or o.is_open)
        ]

    def get_order(self, user_id: int, order_id: int) -> SimOrder | None:
        cutoff = self._cutoff()
        if cutoff is None:
            return self._engine.get_order(user_id, order_id)
        with self._lock:
            order = self._as_of(order_id, cutoff)
        return order if order is not None and order.user_id == user_id else None

    def user_trades(self, user_id: int) -> list[UserTrade]:
        trades = self._engine.user_trades(user_id)
        cutoff = self._cutoff()
        if cutoff is None:
            return trades
        return [t for t in trades if t.ts_ms <= cutoff]
