"""Order-manager actor: owns this bot's order records; submits, cancels, and applies reconciliation.

Write-ahead: the INTENT row is made durable (the store's intent journal, see btcbot.storage.intent_journal)
*before* the submit leaves the process, so a crash at any point leaves a record that start-up reconciliation
resolves by client id (never a second order). It is a direct, synchronous call on the thread-safe store
because no actor may wait on another's reply.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any, Literal

from btcbot import reason_codes as rc
from btcbot.actors._base import ActorServices, BtcbotActor
from btcbot.actors.messages import (
    CancelOpenOrders,
    ReconcileCompleted,
    ReconcileRequested,
    RecordCycle,
    RecoverOrders,
    RiskAssessed,
)
from btcbot.arming import ArmingGate, WriteToken
from btcbot.domain.orders import Balance, Fill, OrderIntent, OrderSide, OrderStatus
from btcbot.errors import ExchangeError, NotArmedError, OrderNotCancellable, OrderNotFound
from btcbot.exchange.interfaces import OrderGateway
from btcbot.runtime.cycle import CycleContext, CycleStats, SymbolOutcome
from btcbot.runtime.foreign_orders import split_orphans
from btcbot.runtime.kill_switch import kill_switch_record, kill_switch_work
from btcbot.runtime.lifecycle import OrderLedger, OrderRecord, advance, new_intent_record, order_row
from btcbot.runtime.ports import RuntimeStore, known_client_ids, load_live_orders
from btcbot.runtime.positions import PositionBook
from btcbot.runtime.reconcile import status_after_submit_error
from btcbot.runtime.records import alert_row, decision_id, order_event_row, utc
from btcbot.runtime.risk_gate import RiskVerdict
from btcbot.telemetry.metrics import get_metrics
from btcbot.telemetry.tracing import set_error, start_span

log = logging.getLogger(__name__)

S = OrderStatus
CancelResult = Literal["sent", "not_armed", "failed", "not_open"]
# Outcomes a TTL cancel on the same symbol may take over (the others already record an action of their own).
_TTL_REWRITABLE = frozenset({"skip", "refuse", "none"})


def with_update_to_order(stats: CycleStats, now_ns: int, received_ns: int | None) -> CycleStats:
    """The cycle's first order (sent or would-be) sets ``update_to_order_ms``; see ``CycleStats``."""
    if received_ns is None or stats.update_to_order_ms is not None:
        return stats
    return replace(stats, update_to_order_ms=max(0.0, (now_ns - received_ns) / 1e6))


class OrderManagerActor(BtcbotActor):
    actor_name = "order_manager"

    def __init__(
        self,
        services: ActorServices,
        *,
        gate: ArmingGate,
        gateway: OrderGateway,
        store: RuntimeStore,
        owned_prefixes: tuple[str, ...],
        ttl_seconds: int,
        max_open_orders_per_symbol: int = 1,
        adopt_foreign_orders: bool = False,
    ) -> None:
        super().__init__(services)
        self._gate = gate
        self._gateway = gateway
        self._store = store
        self._prefixes = owned_prefixes
        self._adopt_foreign = adopt_foreign_orders
        self._ttl_seconds = ttl_seconds
        self._max_open = max_open_orders_per_symbol
        self._ledger = OrderLedger()
        self._balances: tuple[tuple[str, Any], ...] = ()
        self._seen_trades: set[int] = set()
        self._positions = PositionBook()

    def start_actor(self) -> None:
        # Also the restart path: the DB (flushed by the supervisor first) is the source of truth.
        self._ledger = OrderLedger(load_live_orders(self._store, self._prefixes))
        self._seen_trades = {int(r[0]) for r in self._store.query("SELECT trade_id FROM fills")}
        rows = self._store.query(
            "SELECT trade_id, exchange_order_id, client_order_id, symbol, side, price, quantity, fee, tax, "
            "epoch_ms(ts) FROM fills WHERE client_order_id IS NOT NULL ORDER BY ts, trade_id"
        )
        self._positions = PositionBook(
            Fill(int(t), int(x), c, sym, OrderSide(side), Decimal(p), Decimal(q), Decimal(fee), Decimal(tax), int(ts))
            for t, x, c, sym, side, p, q, fee, tax, ts in rows
            if str(c).startswith(self._prefixes)
        )

    # ----- helpers -----
    def _now(self) -> int:
        return self.services.clock.wall_ms()

    def _save(self, record: OrderRecord, event: str, **details: Any) -> None:
        self._ledger.put(record)
        self._store.upsert_order(order_row(record))
        self._store.insert(
            "order_events", [order_event_row(record, event=event, run_id=record.run_id, now_ms=self._now(), **details)]
        )

    def handle(self, message: Any) -> None:
        if isinstance(message, RiskAssessed):
            self._on_risk_assessed(message)
        elif isinstance(message, ReconcileCompleted):
            self._on_reconciled(message)
        elif isinstance(message, RecoverOrders):
            self._ledger = OrderLedger(load_live_orders(self._store, self._prefixes))
            self._request_reconcile(message.ctx, (), CycleStats(), message.trace, force=True)
        elif isinstance(message, CancelOpenOrders):
            stats = self._cancel_all(message.ctx, message.trace, protective=False)
            self._request_reconcile(message.ctx, (), stats, message.trace, force=True)
        else:
            raise TypeError(f"order manager cannot handle {type(message).__name__}")

    # ----- a decision cycle -----
    def _on_risk_assessed(self, msg: RiskAssessed) -> None:
        ctx = msg.ctx
        outcomes = list(msg.outcomes)
        ages = dict(msg.market_data_ages)
        received = dict(msg.book_received_ns)
        stats = CycleStats()
        for verdict in msg.verdicts:
            cancelled, stats = self._cancel_unwanted(verdict, ages.get(verdict.symbol), stats, msg.trace)
            outcomes.extend(cancelled)
            for intent in verdict.approved:
                late = self._ledger_refusal(intent, ages.get(verdict.symbol))
                if late is not None:
                    outcomes.append(late)
                    continue
                outcome, stats = self._place(
                    ctx, intent, ages.get(verdict.symbol), received.get(verdict.symbol), stats, msg.trace
                )
                outcomes.append(outcome)
        if ctx.kill_switch:
            stats = self._cancel_all(ctx, msg.trace, protective=True, stats=stats)
            live = self._ledger.live()
            outcomes = [kill_switch_record(o, kill_switch_work(live, o.symbol)) for o in outcomes]
        else:
            stats, expired = self._cancel_expired(ctx, msg.trace, stats)
            outcomes = self._with_ttl_cancels(outcomes, expired, ages)
        self._request_reconcile(ctx, tuple(outcomes), stats, msg.trace, force=False)

    def _ledger_refusal(self, intent: OrderIntent, age: float | None) -> SymbolOutcome | None:
        """Defence in depth: the gate judged the cycle's view; the ledger here is the truth at the moment of sending."""
        mine = [r for r in self._ledger.live() if r.symbol == intent.symbol]
        code = None
        if any(r.status is S.UNKNOWN for r in mine):
            code = rc.RISK_UNKNOWN_ORDER
        elif len(mine) >= self._max_open:
            code = rc.RISK_MAX_OPEN_ORDERS_PER_SYMBOL
        if code is None:
            return None
        return SymbolOutcome(intent.symbol, "refuse", code, (("checked", "order_manager_ledger"),), age)

    @staticmethod
    def _with_ttl_cancels(
        outcomes: list[SymbolOutcome], expired: list[tuple[OrderRecord, bool]], ages: dict[str, float | None]
    ) -> list[SymbolOutcome]:
        """Each TTL cancel (sent, or failed: retried next cycle) takes over a quiet record of its symbol (the
        canary's ``strategy:order_active``); on a symbol blocked by its market data it goes into the block's details
        (the block stays the symbol's one record, as stale streaks are counted by record); otherwise it gets a
        record of its own. A failed one is recorded as the replace-cancel's is: action ``none``, ``result=failed``."""
        out = list(outcomes)
        for rec, sent in expired:
            mine = [i for i, o in enumerate(out) if o.symbol == rec.symbol]
            block = next((i for i in mine if out[i].action == "block"), None)
            quiet = next(
                (i for i in mine if out[i].action in _TTL_REWRITABLE and out[i].reason_code != rc.ORDER_TTL_CANCEL),
                None,
            )
            action = "cancel" if sent else "none"
            result = () if sent else (("result", "failed"),)
            if block is not None:
                o = out[block]
                key = "ttl_cancel" if sent else "ttl_cancel_failed"
                done = dict(o.details).get(key)
                cids = f"{done},{rec.client_order_id}" if done else rec.client_order_id
                out[block] = replace(o, details=(*(d for d in o.details if d[0] != key), (key, cids)))
            elif quiet is not None:
                o = out[quiet]
                out[quiet] = replace(
                    o,
                    action=action,
                    reason_code=rc.ORDER_TTL_CANCEL,
                    client_order_id=rec.client_order_id,
                    details=(*o.details, ("was", o.reason_code), *result),
                )
            else:
                out.append(
                    SymbolOutcome(
                        rec.symbol,
                        action,
                        rc.ORDER_TTL_CANCEL,
                        (("was", "none"), *result),
                        ages.get(rec.symbol),
                        rec.client_order_id,
                    )
                )
        return out

    def _place(
        self,
        ctx: CycleContext,
        intent: OrderIntent,
        age: float | None,
        received_ns: int | None,
        stats: CycleStats,
        trace: dict[str, str],
    ) -> tuple[SymbolOutcome, CycleStats]:
        details: tuple[tuple[str, str], ...] = (
            ("side", intent.side.value),
            ("price", str(intent.price)),
            ("quantity", str(intent.quantity)),
            ("notional", str(intent.notional)),
        )
        cid = intent.client_order_id
        if not self._gate.live:
            reasons = ",".join(self._gate.blocking_reasons())
            return (
                SymbolOutcome(
                    intent.symbol,
                    "would_submit",
                    rc.DRY_RUN_WOULD_SUBMIT,
                    (*details, ("arm_reasons", reasons)),
                    age,
                    cid,
                ),
                replace(
                    with_update_to_order(stats, self.services.clock.monotonic_ns(), received_ns),
                    would_submit=stats.would_submit + 1,
                    would_submit_latencies_ms=(
                        *stats.would_submit_latencies_ms,
                        (self.services.clock.monotonic_ns() - ctx.started_monotonic_ns) / 1e6,
                    ),
                ),
            )
        now = self._now()
        record = new_intent_record(
            intent,
            run_id=ctx.run_id,
            cycle_id=ctx.cycle_id,
            now_ms=now,
            ttl_seconds=self._ttl_seconds,
            decision_id=decision_id(ctx.run_id, ctx.cycle_id, intent.symbol),
        )
        self._ledger.put(record)
        with start_span(
            "db_flush", carrier=trace, attributes={"btcbot.actor": self.actor_name, "btcbot.write_ahead": True}
        ):
            self._store.write_ahead(order_row(record))
        self._store.insert(
            "order_events", [order_event_row(record, event="intent", run_id=record.run_id, now_ms=self._now())]
        )
        attrs = {"btcbot.actor": self.actor_name, "btcbot.order.client_id": cid, "btcbot.symbol": intent.symbol}
        timed = stats
        with start_span("order_submit", carrier=trace, attributes=attrs) as span:
            try:
                token: WriteToken = self._gate.submit_token()
                sent_ns = self.services.clock.monotonic_ns()
                timed = with_update_to_order(stats, sent_ns, received_ns)
                record = advance(record, S.INTENT, self._now(), submitted_ms=self._now())
                ack = self._gateway.submit_order(intent, token)
            except NotArmedError as exc:
                set_error(span, "not_armed")
                record = advance(record, S.NOT_SENT, self._now(), last_error=str(exc)[:200])
                self._save(record, "not_sent")
                return SymbolOutcome(
                    intent.symbol, "refuse", rc.ORDER_NOT_SENT, (*details, ("why", str(exc)[:200])), age, cid
                ), stats
            except ExchangeError as exc:
                return self._submit_failed(ctx, record, exc, details, age, timed, span)
            latency = (self.services.clock.monotonic_ns() - sent_ns) / 1e6
            span.set_attribute("btcbot.order.exchange_id", ack.exchange_order_id)
        now = self._now()
        record = advance(
            record, S.OPEN, now, exchange_order_id=ack.exchange_order_id, acked_ms=now, submit_latency_ms=latency
        )
        self._save(record, "acked", latency_ms=round(latency, 3))
        return (
            SymbolOutcome(
                intent.symbol,
                "submit",
                rc.ORDER_SUBMITTED,
                (*details, ("exchange_order_id", str(ack.exchange_order_id))),
                age,
                cid,
            ),
            replace(
                timed,
                submitted=stats.submitted + 1,
                acknowledged=stats.acknowledged + 1,
                submit_latencies_ms=(*stats.submit_latencies_ms, latency),
            ),
        )

    def _submit_failed(
        self,
        ctx: CycleContext,
        record: OrderRecord,
        exc: ExchangeError,
        details: tuple[tuple[str, str], ...],
        age: float | None,
        stats: CycleStats,
        span: Any,
    ) -> tuple[SymbolOutcome, CycleStats]:
        """Record what the failure proves (``status_after_submit_error``); an UNKNOWN is never retried."""
        symbol, cid, error = record.symbol, record.client_order_id, type(exc).__name__
        status = status_after_submit_error(exc)
        now = self._now()
        if status is S.NOT_SENT:
            set_error(span, "not_sent")
            self._save(advance(record, S.NOT_SENT, now, last_error=str(exc)[:200]), "not_sent", error=error)
            outcome = SymbolOutcome(symbol, "submit", rc.ORDER_SEND_FAILED, (*details, ("error", error)), age, cid)
            return outcome, stats
        if status is S.REJECTED:
            set_error(span, "rejected")
            record = advance(record, S.REJECTED, now, last_error=f"{exc.venue_code}: {exc}"[:200])
            self._save(record, "rejected", venue_code=exc.venue_code)
            venue_code = ("venue_code", str(exc.venue_code))
            return (
                SymbolOutcome(symbol, "submit", rc.ORDER_REJECTED, (*details, venue_code), age, cid),
                replace(stats, submitted=stats.submitted + 1, rejected=stats.rejected + 1),
            )
        # It may have reached the venue: UNKNOWN, never retried, its symbol blocked until the venue shows it.
        set_error(span, "unknown")
        self._save(advance(record, S.UNKNOWN, now, unknown_since_ms=now, last_error=error), "unknown", error=error)
        self._store.insert(
            "alerts",
            [
                alert_row(
                    run_id=ctx.run_id,
                    now_ms=now,
                    severity="warning",
                    kind="unknown_order",
                    reason_code=rc.ORDER_UNKNOWN,
                    message="submit outcome unknown; symbol blocked until the venue shows the order",
                    details={"client_order_id": cid, "symbol": symbol},
                )
            ],
        )
        return (
            SymbolOutcome(symbol, "submit", rc.ORDER_UNKNOWN, (*details, ("error", error)), age, cid),
            replace(
                stats,
                submitted=stats.submitted + 1,
                unknown=stats.unknown + 1,
                alerts=(*stats.alerts, rc.ORDER_UNKNOWN),
            ),
        )

    # ----- cancels -----
    def _cancel(self, record: OrderRecord, token_kind: str, trace: dict[str, str], why: str) -> CancelResult:
        if record.exchange_order_id is None or record.status not in (S.OPEN, S.PARTIAL):
            return "not_open"
        attrs = {"btcbot.actor": self.actor_name, "btcbot.order.client_id": record.client_order_id, "btcbot.why": why}
        with start_span("order_cancel", carrier=trace, attributes=attrs) as span:
            try:
                protective = token_kind == "protective"  # noqa: S105 - a token kind, not a secret
                token = self._gate.protective_cancel_token() if protective else self._gate.cancel_token()
                self._gateway.cancel_order(record.exchange_order_id, token)
            except NotArmedError:
                set_error(span, "not_armed")
                return "not_armed"
            except (OrderNotFound, OrderNotCancellable):
                pass  # already gone (filled or cancelled): the reconciler settles which
            except ExchangeError as exc:
                set_error(span, type(exc).__name__)
                log.warning("cancel of %s failed (%s); retrying next cycle", record.client_order_id, type(exc).__name__)
                return "failed"
        now = self._now()
        self._save(advance(record, S.CANCEL_PENDING, now, cancel_requested_ms=now), "cancel_requested", why=why)
        return "sent"

    def _cancel_unwanted(
        self, verdict: RiskVerdict, age: float | None, stats: CycleStats, trace: dict[str, str]
    ) -> tuple[list[SymbolOutcome], CycleStats]:
        """Cancel the live orders the strategy no longer wants, through the same write chokepoint as a TTL cancel."""
        outcomes: list[SymbolOutcome] = []
        sent = 0
        for cid in verdict.cancels:
            record = self._ledger.get(cid)
            if record is None:
                outcomes.append(
                    SymbolOutcome(verdict.symbol, "none", rc.ORDER_REPLACE_CANCEL, (("result", "gone"),), age, cid)
                )
                continue
            details = (
                ("side", record.side.value),
                ("price", str(record.price)),
                ("quantity", str(record.quantity)),
                ("left", str(record.quantity - record.filled_quantity)),
            )
            result = self._cancel(record, "cancel", trace, rc.ORDER_REPLACE_CANCEL)
            if result == "sent":
                sent += 1
                outcome = SymbolOutcome(verdict.symbol, "cancel", rc.ORDER_REPLACE_CANCEL, details, age, cid)
            elif result == "not_armed":
                reasons = (("arm_reasons", ",".join(self._gate.blocking_reasons())),)
                outcome = SymbolOutcome(
                    verdict.symbol, "would_cancel", rc.DRY_RUN_WOULD_CANCEL, (*details, *reasons), age, cid
                )
            else:  # failed (retried next cycle, the strategy still not wanting it) or no longer open
                outcome = SymbolOutcome(
                    verdict.symbol, "none", rc.ORDER_REPLACE_CANCEL, (*details, ("result", result)), age, cid
                )
            outcomes.append(outcome)
        return outcomes, replace(stats, cancel_requests=stats.cancel_requests + sent)

    def _cancel_expired(
        self, ctx: CycleContext, trace: dict[str, str], stats: CycleStats
    ) -> tuple[CycleStats, list[tuple[OrderRecord, bool]]]:
        """The TTL cancels tried this cycle, each with whether it went out (False: the venue did not take it)."""
        now = self._now()
        expired = [r for r in self._ledger.live() if r.ttl_expired(now)]
        tried = [(r, self._cancel(r, "cancel", trace, rc.ORDER_TTL_CANCEL)) for r in expired]
        done = [(r, result == "sent") for r, result in tried if result in ("sent", "failed")]
        sent = sum(1 for _, ok in done if ok)
        return replace(stats, cancel_requests=stats.cancel_requests + sent), done

    def _cancel_all(
        self, ctx: CycleContext, trace: dict[str, str], *, protective: bool, stats: CycleStats | None = None
    ) -> CycleStats:
        stats = stats or CycleStats()
        why = rc.KILL_SWITCH_CANCEL if protective else rc.STOP_CANCEL
        kind = "protective" if protective else "cancel"
        # Only orders this bot placed: a record it wrote ahead carries its decision. An adopted orphan has none;
        # it carries this scope's prefix but may be another process's (same key, another DB), so it is recorded
        # and alerted on, never swept up by the kill switch or the stop.
        n = sum(
            1 for r in self._ledger.live() if r.decision_id is not None and self._cancel(r, kind, trace, why) == "sent"
        )
        return replace(stats, cancel_requests=stats.cancel_requests + n)

    # ----- reconciliation -----
    def _request_reconcile(
        self,
        ctx: CycleContext,
        outcomes: tuple[SymbolOutcome, ...],
        stats: CycleStats,
        trace: dict[str, str],
        *,
        force: bool,
    ) -> None:
        live = self._ledger.live()
        unsettled = any(r.status in (S.INTENT, S.UNKNOWN, S.CANCEL_PENDING) for r in live)
        self.tell(
            "reconciler",
            ReconcileRequested(
                ctx=ctx,
                records=live,
                known_client_ids=frozenset(r.client_order_id for r in live),
                outcomes=outcomes,
                stats=stats,
                force=force or unsettled or stats.submitted > 0,
                trace=trace,
            ),
        )

    def _record_balances(self, ctx: CycleContext, balances: tuple[Balance, ...]) -> None:
        ts = utc(self._now())
        rows = [
            {"run_id": ctx.run_id, "cycle_id": ctx.cycle_id, "ts": ts, "asset": b.asset.upper(), "total": b.total,
             "free": b.free, "locked": b.locked}
            for b in balances
        ]  # fmt: skip
        if rows:
            self._store.insert("balance_snapshots", rows)

    def _record_fills(self, fills: tuple[Fill, ...]) -> None:
        # trade_id is the fills table's key: a duplicate would fail the whole batched flush, so dedupe here.
        rows = []
        for f in fills:
            if f.trade_id in self._seen_trades:
                continue
            self._seen_trades.add(f.trade_id)
            if (f.client_order_id or "").startswith(self._prefixes):
                self._positions.apply(f)
            rec = self._ledger.get(f.client_order_id or "")
            rows.append({
                "trade_id": f.trade_id, "exchange_order_id": f.exchange_order_id, "client_order_id": f.client_order_id,
                "run_id": rec.run_id if rec else None, "symbol": f.symbol, "side": f.side.value, "price": f.price,
                "quantity": f.quantity, "fee": f.fee, "tax": f.tax, "ts": utc(f.ts_ms),
            })  # fmt: skip
        if rows:
            self._store.insert("fills", rows)

    def _split_orphans(
        self, candidates: tuple[OrderRecord, ...]
    ) -> tuple[tuple[OrderRecord, ...], tuple[OrderRecord, ...]]:
        if not candidates or self._adopt_foreign:
            return split_orphans(candidates, (), adopt_foreign=self._adopt_foreign)
        known = known_client_ids(self._store, [r.client_order_id for r in candidates])
        return split_orphans(candidates, known, adopt_foreign=False)

    def _on_reconciled(self, msg: ReconcileCompleted) -> None:
        stats = msg.stats
        ctx = msg.ctx
        metrics = get_metrics()
        out = msg.outcome
        if out is not None:
            adopted, foreign = self._split_orphans(out.adopted)
            not_adopted = {r.client_order_id for r in foreign}
            alerts = [a for a in out.alerts if a.kind != "orphan_order" or a.client_order_id not in not_adopted]
            filled = cancelled = 0
            for upd in out.updates:
                old = self._ledger.get(upd.record.client_order_id)
                self._save(upd.record, upd.event)
                if old is not None and old.status is not upd.record.status:
                    if upd.record.status is S.FILLED:
                        filled += 1
                        metrics.orders_filled.add(1, {"symbol": upd.record.symbol})
                    elif upd.record.status is S.CANCELLED:
                        cancelled += 1
                        metrics.orders_cancelled.add(1, {"symbol": upd.record.symbol})
            for rec in adopted:
                self._save(rec, "orphan")
            now = self._now()
            if alerts:
                self._store.insert(
                    "alerts",
                    [
                        alert_row(
                            run_id=ctx.run_id,
                            now_ms=now,
                            severity=a.severity,
                            kind=a.kind,
                            reason_code=a.reason_code,
                            message=a.message,
                            details={"client_order_id": a.client_order_id},
                        )
                        for a in alerts
                    ],
                )
            stats = replace(
                stats,
                filled=stats.filled + filled,
                cancelled=stats.cancelled + cancelled,
                orphans=stats.orphans + len(adopted),
                unknown=stats.unknown + out.became_unknown,
                unknown_resolved=stats.unknown_resolved + out.resolved_unknown,
                alerts=(*stats.alerts, *(a.reason_code for a in alerts)),
                foreign_orders=(*stats.foreign_orders, *foreign),
            )
        if msg.balances is not None:
            self._balances = tuple((b.asset.upper(), b.free) for b in msg.balances)
            self._record_balances(ctx, msg.balances)
        self._record_fills(msg.fills)
        if msg.lag_ms is not None:
            stats = replace(stats, reconcile_lag_ms=msg.lag_ms)
        self._ledger.prune_terminal()
        self.tell(
            "state_writer",
            RecordCycle(
                ctx=ctx,
                outcomes=msg.outcomes,
                live_orders=self._ledger.live(),
                free_balances=self._balances,
                account=self._positions.snapshot(),
                stats=stats,
                trace=msg.trace,
            ),
        )
