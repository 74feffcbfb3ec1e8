"""State-store writer actor: the cycle's decision records and cycle row; decision cycles are flushed by the session."""

from __future__ import annotations

from typing import Any

from btcbot.actors._base import ActorServices, BtcbotActor
from btcbot.actors.messages import CycleCompleted, RecordCycle
from btcbot.arming import ArmingGate
from btcbot.runtime.freshness import BLIND_CODES
from btcbot.runtime.ports import RuntimeStore
from btcbot.runtime.records import cycle_row, decision_row
from btcbot.telemetry.tracing import start_span


def cycle_reason(codes: list[str]) -> str:
    """The cycle's headline code: the first blocking cause in pipeline order — a symbol without usable market data
    before anything a later stage decided — then the first that is not a plain success, else the first."""
    for code in codes:
        if code in BLIND_CODES:
            return code
    quiet = {"order:submitted", "dry_run:would_submit", "strategy:order_active", "cycle:ok"}
    for code in codes:
        if code not in quiet:
            return code
    return codes[0] if codes else "cycle:ok"


class StateWriterActor(BtcbotActor):
    actor_name = "state_writer"

    def __init__(self, services: ActorServices, *, store: RuntimeStore, gate: ArmingGate) -> None:
        super().__init__(services)
        self._store = store
        self._gate = gate

    def handle(self, message: Any) -> None:
        if not isinstance(message, RecordCycle):
            raise TypeError(f"state writer cannot handle {type(message).__name__}")
        ctx = message.ctx
        now = self.services.clock.wall_ms()
        mode = "live" if self._gate.live else "observe"
        order = {s: i for i, s in enumerate(ctx.symbols)}
        # Per symbol, a submit first: its record gets the plain decision id, the one its order's row names.
        outcomes = tuple(
            sorted(
                message.outcomes,
                key=lambda o: (order.get(o.symbol, len(order)), o.action not in ("submit", "would_submit")),
            )
        )
        if ctx.purpose == "cycle":
            seen: dict[str, int] = {}
            rows = []
            for o in outcomes:
                seen[o.symbol] = seen.get(o.symbol, 0) + 1
                rows.append(
                    decision_row(
                        o,
                        run_id=ctx.run_id,
                        cycle_id=ctx.cycle_id,
                        now_ms=now,
                        mode=mode,
                        trace_id=ctx.trace_id,
                        seq=seen[o.symbol],
                    )
                )
            self._store.insert("decisions", rows)
            duration = (self.services.clock.monotonic_ns() - ctx.started_monotonic_ns) / 1e6
            self._store.insert(
                "cycles",
                [
                    cycle_row(
                        run_id=ctx.run_id,
                        cycle_id=ctx.cycle_id,
                        started_ms=ctx.started_wall_ms,
                        ended_ms=now,
                        mode=mode,
                        duration_ms=duration,
                        outcome_reason_code=cycle_reason([o.reason_code for o in outcomes]),
                        trace_id=ctx.trace_id,
                        reconcile_lag_ms=message.stats.reconcile_lag_ms,
                        update_to_order_ms=message.stats.update_to_order_ms,
                    )
                ],
            )
        # A decision cycle is reported unflushed: its flush (a DuckDB file open + append + close, ~25 ms) runs in
        # the session's quiet window (runtime/settle.py), after the session has the report and before the next
        # cycle starts. Starting it here would compete with the session's wake-up and stretch the cycle. Orders
        # never depend on it: their INTENT rows are durable ahead of the send. Start-up and stop flush first.
        flush_first = ctx.purpose != "cycle"
        if flush_first:
            self._flush(message)
        self.services.control.put(
            CycleCompleted(
                ctx=ctx,
                outcomes=outcomes,
                live_orders=message.live_orders,
                free_balances=message.free_balances,
                account=message.account,
                stats=message.stats,
                flushed=flush_first,
                trace=message.trace,
            )
        )

    def _flush(self, message: RecordCycle) -> None:
        with start_span("db_flush", carrier=message.trace, attributes={"btcbot.actor": self.actor_name}):
            self._store.flush()
