"""Reconciler actor: queries the venue (throttled) and hands record adjustments back to the order manager.

It never places an order. Its queries: open orders per symbol, a lookup for each live record the open
list does not explain (by exchange id, or by client id in the symbol's recent history), and balances.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from btcbot import reason_codes as rc
from btcbot.actors._base import ActorServices, BtcbotActor
from btcbot.actors.messages import ReconcileCompleted, ReconcileRequested
from btcbot.domain.orders import Balance, Fill, VenueOrder
from btcbot.errors import ExchangeError, OrderNotFound
from btcbot.exchange.interfaces import ExchangeReader
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.reconcile import ReconcileOutcome, needs_lookup, reconcile
from btcbot.telemetry.tracing import inject, set_error, start_span

log = logging.getLogger(__name__)

HISTORY_LOOKBACK_MS = 5 * 60 * 1000


class ReconcilerActor(BtcbotActor):
    actor_name = "reconciler"

    def __init__(
        self,
        services: ActorServices,
        *,
        reader: ExchangeReader,
        owned_prefixes: tuple[str, ...],
        min_interval_ms: int,
        default_ttl_seconds: int,
        enabled: bool = True,
    ) -> None:
        super().__init__(services)
        self._reader = reader
        self._prefixes = owned_prefixes
        self._min_interval_ns = min_interval_ms * 1_000_000
        self._ttl = default_ttl_seconds
        self._last_ns: int | None = None
        # Without credentials there is no account to reconcile (observe-only); nothing is queried.
        self._enabled = enabled

    def _lookup(self, records: list[OrderRecord]) -> dict[str, VenueOrder | None]:
        found: dict[str, VenueOrder | None] = {}
        history: dict[str, list[VenueOrder]] = {}
        for r in records:
            if r.exchange_order_id is not None:
                try:
                    found[r.client_order_id] = self._reader.get_order(r.exchange_order_id)
                except OrderNotFound:
                    found[r.client_order_id] = None
                continue
            if r.symbol not in history:
                start = min(x.created_ms for x in records if x.symbol == r.symbol) - HISTORY_LOOKBACK_MS
                history[r.symbol] = self._reader.all_orders(r.symbol, start_ms=start)
            found[r.client_order_id] = next(
                (v for v in history[r.symbol] if v.client_order_id == r.client_order_id), None
            )
        return found

    def _fills(self, records: tuple[OrderRecord, ...], outcome: ReconcileOutcome) -> tuple[Fill, ...]:
        """The venue's trades for orders whose filled quantity grew in this reconcile (the order manager dedupes)."""
        before = {r.client_order_id: r.filled_quantity for r in records}
        grown = [
            u.record
            for u in outcome.updates
            if u.record.exchange_order_id is not None
            and u.record.filled_quantity > before.get(u.record.client_order_id, Decimal(0))
        ]
        out: list[Fill] = []
        for symbol in sorted({r.symbol for r in grown}):
            mine = {r.exchange_order_id: r for r in grown if r.symbol == symbol}
            start = min(r.created_ms for r in mine.values()) - HISTORY_LOOKBACK_MS
            for f in self._reader.user_trades(symbol, start_ms=start):
                if f.exchange_order_id in mine:
                    cid = f.client_order_id or mine[f.exchange_order_id].client_order_id
                    out.append(replace(f, client_order_id=cid))
        return tuple(out)

    def handle(self, message: Any) -> None:
        if not isinstance(message, ReconcileRequested):
            raise TypeError(f"reconciler cannot handle {type(message).__name__}")
        ctx = message.ctx
        clock = self.services.clock
        now_ns = clock.monotonic_ns()
        throttled = not self._enabled or (
            not message.force and self._last_ns is not None and now_ns - self._last_ns < self._min_interval_ns
        )
        outcome = None
        balances: tuple[Balance, ...] | None = None
        fills: tuple[Fill, ...] = ()
        lag: float | None = None
        stats = message.stats
        if not throttled:
            attrs: dict[str, str | int] = {"btcbot.actor": self.actor_name, "btcbot.records": len(message.records)}
            with start_span("reconcile", carrier=message.trace, attributes=attrs) as span:
                self._last_ns = now_ns
                t0 = clock.wall_ms()
                try:
                    symbols = sorted({*ctx.symbols, *(r.symbol for r in message.records)})
                    venue_open = [v for s in symbols for v in self._reader.open_orders(s)]
                    lookups = self._lookup(needs_lookup(message.records, venue_open))
                    balances = tuple(self._reader.balances())
                    outcome = reconcile(
                        message.records,
                        venue_open=venue_open,
                        lookups=lookups,
                        owned_prefixes=self._prefixes,
                        known_client_ids=message.known_client_ids,
                        now_ms=clock.wall_ms(),
                        run_id=ctx.run_id,
                        cycle_id=ctx.cycle_id,
                        default_ttl_seconds=self._ttl,
                    )
                    fills = self._fills(message.records, outcome)
                    lag = float(clock.wall_ms() - t0)
                    span.set_attribute("btcbot.reconcile.updates", len(outcome.updates))
                    span.set_attribute("btcbot.reconcile.orphans", len(outcome.adopted))
                except ExchangeError as exc:
                    set_error(span, type(exc).__name__)
                    log.warning("reconcile failed (%s); retrying next cycle", type(exc).__name__)
                    self._last_ns = None
                    stats = replace(stats, alerts=(*stats.alerts, rc.RECONCILE_FAILED))
                trace = inject()
        else:
            trace = message.trace
        self.tell(
            "order_manager",
            ReconcileCompleted(
                ctx=ctx,
                outcome=outcome,
                balances=balances,
                fills=fills,
                lag_ms=lag,
                outcomes=message.outcomes,
                stats=stats,
                trace=trace,
            ),
        )
