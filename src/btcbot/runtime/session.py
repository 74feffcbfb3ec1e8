"""One run of the supervised actor graph: start-up recovery, the cycle loop, and an orderly stop.

``run_session(options, deps)`` is the single entry point for ``btcbot run``, ``btcbot canary`` and replay.
All venue access comes in through ``deps`` (a real adapter, the simulator, or replay's in-process venue),
and all time through ``deps.clock``: the loop waits for the next cycle with ``Clock.wait``, so a
``VirtualClock`` runs it as fast as the actors answer. The loop itself runs on the caller's thread and
hosts the supervisor; it only ever waits on the control queue, never on an actor's reply.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pykka

from btcbot import reason_codes as rc
from btcbot.actors._base import ActorServices, FaultInjector, FaultPlan, Routes
from btcbot.actors.feed import FeedActor
from btcbot.actors.freshness import FreshnessGuardActor
from btcbot.actors.messages import ActorFailed, CancelOpenOrders, CycleCompleted, RecoverOrders, RunCycle
from btcbot.actors.orders import OrderManagerActor
from btcbot.actors.reconciler import ReconcilerActor
from btcbot.actors.risk import RiskGateActor
from btcbot.actors.state_writer import StateWriterActor, cycle_reason
from btcbot.actors.strategy import StrategyActor
from btcbot.actors.supervisor import ActorFactory, Supervisor
from btcbot.arming import ArmingGate
from btcbot.domain.clock import Clock
from btcbot.domain.orders import OrderStatus, owned_prefixes
from btcbot.domain.rules import SymbolRules
from btcbot.errors import ExchangeError
from btcbot.exchange.btcturk.clock import clock_hint, measure_clock_offset
from btcbot.exchange.interfaces import ExchangeReader, MarketDataSource, OrderGateway
from btcbot.runtime import foreign_orders
from btcbot.runtime.cycle import CycleContext, Purpose, SymbolOutcome
from btcbot.runtime.cycle_metrics import CycleMetrics
from btcbot.runtime.cycle_view import CycleFacts, CycleView, build_cycle_view
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.ports import RuntimeStore, load_live_orders
from btcbot.runtime.positions import AccountState
from btcbot.runtime.records import alert_row, decision_row, utc
from btcbot.runtime.risk_gate import RiskLimits
from btcbot.runtime.settle import export_spans, settle
from btcbot.runtime.strategy import AnyStrategy
from btcbot.runtime.summary import Interruption, RunEnd, RunSummary, kv
from btcbot.runtime.supervision import MonitorLimits, RestartBudget, SafeModeMonitor
from btcbot.settings import Settings, redacted_view
from btcbot.telemetry.tracing import inject, start_span, trace_id_hex

log = logging.getLogger(__name__)

STOP_CONFIRM_ATTEMPTS = 20
STOP_CONFIRM_INTERVAL_S = 0.1
STARTUP_ATTEMPTS = 3
STARTUP_RETRY_WAIT_S = 0.5

__all__ = ["FaultPlan", "RunResult", "RuntimeDeps", "RuntimeOptions", "StopControl", "new_run_id", "run_session"]


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


class StopControl:
    """First ``request()`` asks for a graceful stop; a second one latches safe mode, then stops at once.

    ``request`` runs inside signal handlers: it only sets events and the gate's latch, never waits on anything.
    Setting ``graceful`` directly (replay's end of data) ends a run without it counting as interrupted.
    """

    def __init__(self) -> None:
        self.graceful = threading.Event()
        self.hard = threading.Event()
        self.requests: list[str] = []  # who asked, in order (signal names)
        self._gate: ArmingGate | None = None

    def guard(self, gate: ArmingGate) -> None:
        """The gate that a stop-at-once latches before anything stops."""
        self._gate = gate

    def request(self, source: str = "stop_request") -> None:
        self.requests.append(source)
        if self.graceful.is_set():
            if self._gate is not None:
                # Before the stop: a submit already queued in an actor's mailbox (actors finish their mailbox
                # before they stop) is refused at the write chokepoint instead of leaving unwatched.
                self._gate.latch_safe_mode(f"stop_at_once:{source}")
            self.hard.set()
        self.graceful.set()

    @property
    def interrupted(self) -> bool:
        return bool(self.requests)


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    command: str = "run"  # run | canary_once | canary_loop | replay | backtest
    max_cycles: int | None = 1  # None: until stopped
    cycle_seconds: float = 10.0
    symbols: tuple[str, ...] | None = None  # default: UNIVERSE_SYMBOLS
    ttl_seconds: int | None = None  # default: TTL_SECONDS
    until_idle: bool = False  # canary once: stop when no order of this bot is live any more
    # canary once with a strategy: the run may place this many orders (risk:max_orders_per_run), and stops when
    # idle only once it has placed them. None: no such bound (the built-in canary wants one order by itself).
    max_orders: int | None = None
    cancel_on_exit: bool | None = None  # default: CANCEL_OPEN_ORDERS_ON_STOP
    cycle_timeout_s: float = 60.0  # real time to wait for one cycle before declaring the graph stuck
    ping_interval_s: float = 1.0
    # Adopt this scope's orders open at the venue that the DB does not know, instead of refusing to arm.
    adopt_foreign_orders: bool = False
    # Test/demo only: make an actor raise (see FaultPlan). No setting or CLI flag reaches this.
    fault: FaultPlan | None = None


@dataclass
class RuntimeDeps:
    settings: Settings
    gate: ArmingGate
    clock: Clock
    market_data: MarketDataSource
    reader: ExchangeReader
    gateway: OrderGateway
    store: RuntimeStore
    strategy: AnyStrategy
    run_id: str = field(default_factory=new_run_id)
    stop: StopControl = field(default_factory=StopControl)
    rules: Mapping[str, SymbolRules] | None = None  # default: fetched from the reader
    manage_market_data: bool = True  # start()/stop() the market data source
    # HTTP 429 answers the venue has given this process's client so far (the client-side limiter should prevent
    # every one); None when the venue is not reached over HTTP (replay's in-process venue).
    venue_429s: Callable[[], int] | None = None
    # Told after every cycle (the operator's live line); it must return at once, and its errors never stop a run.
    on_cycle: Callable[[CycleView], None] | None = None


@dataclass
class RunResult:
    exit_code: int
    summary: RunSummary
    stuck_actors: list[str] = field(default_factory=list)
    refusal: str | None = None  # why the run refused to arm (exit 2); the operator's message


class _Aborted(Exception):
    pass


class _Fatal(Exception):
    pass


class _Refused(Exception):
    pass


class _StoppedAtOnce(Exception):
    pass


def _fetch_rules(reader: ExchangeReader, symbols: tuple[str, ...]) -> dict[str, SymbolRules]:
    rules: dict[str, SymbolRules] = {}
    for s in symbols:
        try:
            rules[s] = reader.symbol_rules(s)
        except ExchangeError as exc:
            log.warning("no trading rules for %s (%s): its cycles are refused", s, type(exc).__name__)
    return rules


class _Session:
    def __init__(self, options: RuntimeOptions, deps: RuntimeDeps) -> None:
        self.o = options
        self.d = deps
        self.s = deps.settings
        self.symbols = options.symbols or self.s.universe_symbols
        self.ttl = options.ttl_seconds or self.s.ttl_seconds
        self.control: queue.Queue[object] = queue.Queue()
        self.services = ActorServices(Routes(), self.control, deps.clock, FaultInjector(options.fault))
        self.summary = RunSummary(deps.run_id, deps.gate.decision.mode.value, safe_mode_setting=deps.settings.safe_mode)
        self.monitor = SafeModeMonitor(MonitorLimits.from_settings(self.s))
        self.live_orders: tuple[OrderRecord, ...] = ()
        self.end_cause: str | None = None  # set by an escalation that ends the run
        self.clock_checked = False  # the venue's clock is read once, at the first reject_rate escalation
        self.balances: tuple[tuple[str, Decimal], ...] = ()
        self.account = AccountState()
        self.last_ping = 0.0
        self.cleanup: str | None = None  # what the stop's clean-up did (see stop_cancel)
        self.view_may_lag = False  # a cycle's outcome was never received: the order manager may know more
        deps.stop.guard(deps.gate)
        self.venue_429s_at_start = deps.venue_429s() if deps.venue_429s is not None else 0
        self.foreign_seen: set[str] = set()
        self.refusal: str | None = None
        self.started_ns = deps.clock.monotonic_ns()
        self.metrics = CycleMetrics(self.symbols)
        scope = self.s.resolved_account_scope
        self.prefixes = owned_prefixes(scope, self.s.legacy_account_scope)
        rules = dict(deps.rules) if deps.rules is not None else _fetch_rules(deps.reader, self.symbols)
        limits = RiskLimits.from_settings(self.s, max_orders_per_run=options.max_orders)
        sv = self.services
        factories: dict[str, ActorFactory] = {
            "state_writer": lambda: StateWriterActor.start(sv, store=deps.store, gate=deps.gate),
            "reconciler": lambda: ReconcilerActor.start(
                sv,
                reader=deps.reader,
                owned_prefixes=self.prefixes,
                min_interval_ms=self.s.reconcile_min_interval_ms,
                default_ttl_seconds=self.ttl,
                enabled=self.s.credentials_present,
            ),
            "order_manager": lambda: OrderManagerActor.start(
                sv,
                gate=deps.gate,
                gateway=deps.gateway,
                store=deps.store,
                owned_prefixes=self.prefixes,
                ttl_seconds=self.ttl,
                max_open_orders_per_symbol=self.s.max_open_orders_per_symbol,
                adopt_foreign_orders=options.adopt_foreign_orders,
            ),
            "risk_gate": lambda: RiskGateActor.start(sv, limits=limits, rules=rules, gate=deps.gate),
            "strategy": lambda: StrategyActor.start(
                sv,
                strategy=deps.strategy,
                rules=rules,
                account_scope=scope,
                limits=limits,
                balances_known=self.s.credentials_present,
                max_age_ms=self.s.max_market_data_age_ms,
            ),
            "freshness_guard": lambda: FreshnessGuardActor.start(sv, max_age_ms=self.s.max_market_data_age_ms),
            "feed": lambda: FeedActor.start(sv, market_data=deps.market_data),
        }
        self.supervisor = Supervisor(
            factories=factories,
            services=sv,
            gate=deps.gate,
            store=deps.store,
            run_id=deps.run_id,
            budget=RestartBudget(self.s.actor_restart_budget, self.s.actor_restart_window_seconds * 1000),
            hard_stop=deps.stop.hard,
        )

    # ----- helpers -----
    def ctx(self, cycle_id: int, purpose: Purpose, trace_id: str | None) -> CycleContext:
        clock = self.d.clock
        return CycleContext(
            run_id=self.d.run_id,
            cycle_id=cycle_id,
            purpose=purpose,
            symbols=self.symbols,
            started_wall_ms=clock.wall_ms(),
            started_monotonic_ns=clock.monotonic_ns(),
            trace_id=trace_id,
            live_orders=self.live_orders,
            free_balances=self.balances,
            kill_switch=self.s.kill_switch,
            account=self.account,
            orders_placed=self.summary.placed + self.summary.would_submit,
        )

    def await_completion(self, cycle_id: int, purpose: Purpose) -> CycleCompleted:
        deadline = time.monotonic() + self.o.cycle_timeout_s
        while True:
            if self.d.stop.hard.is_set():
                self.view_may_lag = True
                raise _StoppedAtOnce
            try:
                item = self.control.get(timeout=min(0.1, max(0.001, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    self.view_may_lag = True
                    self.supervisor.escalate("cycle_timeout", f"cycle {cycle_id} did not complete", cycle_id)
                    raise _Fatal(f"cycle {cycle_id} did not complete within {self.o.cycle_timeout_s}s") from None
                continue
            if isinstance(item, ActorFailed):
                self.on_failure(item, cycle_id)
                raise _Aborted(item.actor)
            if isinstance(item, CycleCompleted):
                if item.ctx.cycle_id == cycle_id and item.ctx.purpose == purpose:
                    return item
                # A cycle given up on (aborted) finished after all: its view of the orders is still news.
                self.absorb(item)

    def on_failure(self, failure: ActorFailed, cycle_id: int) -> None:
        self.summary.anomaly("actor_failure", kv(actor=failure.actor, phase=failure.phase))
        if not self.supervisor.handle_failure(failure, cycle_id):
            raise _Fatal("actor restart budget spent")

    def drain_failures(self, cycle_id: int) -> None:
        while True:
            try:
                item = self.control.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, ActorFailed):
                self.on_failure(item, cycle_id)

    def absorb(self, done: CycleCompleted) -> None:
        self.live_orders = done.live_orders
        self.balances = done.free_balances
        self.account = done.account
        self.summary.add(done.stats)
        new = [r for r in done.stats.foreign_orders if r.client_order_id not in self.foreign_seen]
        if new:
            self.foreign_seen.update(r.client_order_id for r in new)
            self.on_foreign_orders(done.ctx, new)

    def on_foreign_orders(self, ctx: CycleContext, foreign: list[OrderRecord]) -> None:
        """Another instance trades this account under this scope: refuse to arm, latch safe mode, or report."""
        live = self.d.gate.live
        refuse = live and ctx.purpose == "startup"
        text = foreign_orders.explanation(foreign, self.s.resolved_account_scope, self.s.state_db_file)
        now = self.d.clock.wall_ms()
        outcome = SymbolOutcome(
            "*", "refuse" if refuse else "none", rc.LOCK_FOREIGN_ORDERS, foreign_orders.decision_details(foreign)
        )
        row = decision_row(
            outcome,
            run_id=self.d.run_id,
            cycle_id=ctx.cycle_id,
            now_ms=now,
            mode="live" if live else "observe",
            trace_id=ctx.trace_id,
        )
        self.d.store.insert("decisions", [{**row, "decision_id": f"{row['decision_id']}:foreign_orders"}])
        self.d.store.insert(
            "alerts",
            [
                alert_row(
                    run_id=self.d.run_id,
                    now_ms=now,
                    severity="critical" if live else "warning",
                    kind="foreign_orders",
                    reason_code=rc.LOCK_FOREIGN_ORDERS,
                    message=text[:500],
                    details={"client_order_ids": [r.client_order_id for r in foreign]},
                )
            ],
        )
        self.d.store.flush()
        counts = self.summary.reason_counts
        counts[rc.LOCK_FOREIGN_ORDERS] = counts.get(rc.LOCK_FOREIGN_ORDERS, 0) + 1
        ids = ",".join(sorted(r.client_order_id for r in foreign))
        self.summary.anomaly("foreign_orders", f"ids={ids} next: {foreign_orders.NEXT_ACTION}")
        if refuse:
            raise _Refused(foreign_orders.refusal_message(foreign, self.s.resolved_account_scope, self.s.state_db_file))
        log.warning("%s", text)
        if live:
            self.supervisor.escalate(foreign_orders.ESCALATION_CAUSE, text[:500], ctx.cycle_id, ctx.trace_id)

    def placed_enough(self) -> bool:
        wanted = self.o.max_orders
        return wanted is None or self.summary.placed + self.summary.would_submit >= wanted

    def check_liveness(self, cycle_id: int) -> None:
        now = time.monotonic()
        if now - self.last_ping < self.o.ping_interval_s:
            return
        self.last_ping = now
        silent = self.supervisor.ping_all()
        if silent:
            self.drain_failures(cycle_id)  # a dead actor has usually reported itself already
            for name in self.supervisor.ping_all():
                self.supervisor.escalate(f"liveness:{name}", f"{name} did not answer a ping", cycle_id)
                self.summary.anomaly("actor_unresponsive", kv(actor=name))

    def write_aborted(self, cycle_id: int, actor: str, trace_id: str | None, started_ms: int) -> None:
        now = self.d.clock.wall_ms()
        self.view_may_lag = True
        outcomes = [SymbolOutcome(s, "none", rc.SUPERVISOR_CYCLE_ABORTED, (("actor", actor),)) for s in self.symbols]
        rows = [
            decision_row(o, run_id=self.d.run_id, cycle_id=cycle_id, now_ms=now, mode="observe", trace_id=trace_id)
            for o in outcomes
        ]
        # Keys of their own: should the cycle still complete late, its records must not collide with these (a
        # duplicate key would fail the whole batched flush). No cycles row for the same reason.
        rows = [{**r, "decision_id": f"{r['decision_id']}:aborted"} for r in rows]
        self.d.store.insert("decisions", rows)
        self.d.store.flush()
        self.summary.record_cycle(outcomes)

    # ----- phases -----
    def startup(self) -> None:
        self.supervisor.start_all()
        if self.supervisor.ping_all():
            self.drain_failures(0)
        with start_span("startup_reconcile", root=True, attributes={"btcbot.run_id": self.d.run_id}) as span:
            ctx = self.ctx(0, "startup", trace_id_hex(span))
            for attempt in range(1, STARTUP_ATTEMPTS + 1):
                self.services.routes.tell("order_manager", RecoverOrders(ctx=ctx, trace=inject()))
                try:
                    done = self.await_completion(0, "startup")
                except _Aborted:
                    if attempt == STARTUP_ATTEMPTS:
                        raise _Fatal(f"start-up reconciliation failed {STARTUP_ATTEMPTS} times") from None
                    continue
                # Live, the venue must have been read before the first decision: it is the only check that sees
                # another host trading this account (btcbot.runtime.foreign_orders).
                if not (self.d.gate.live and rc.RECONCILE_FAILED in done.stats.alerts):
                    break
                self.absorb(done)  # each failed look counts towards the reconcile_failing anomaly
                if attempt == STARTUP_ATTEMPTS:
                    raise _Fatal(
                        f"start-up venue check failed {STARTUP_ATTEMPTS} times (open orders could not be read); "
                        "nothing was placed"
                    )
                self.d.clock.wait(self.d.stop.graceful, STARTUP_RETRY_WAIT_S)
        self.absorb(done)

    def one_cycle(self, cycle_id: int) -> CycleCompleted | None:
        """Run one cycle; its completion, or None when it was aborted."""
        attrs: dict[str, str | int] = {
            "btcbot.run_id": self.d.run_id,
            "btcbot.cycle_id": cycle_id,
            "btcbot.mode": self.summary.mode,
            "btcbot.symbols": ",".join(self.symbols),
        }
        with start_span("cycle", root=True, attributes=attrs) as span:
            ctx = self.ctx(cycle_id, "cycle", trace_id_hex(span))
            span.set_attribute("btcbot.mode", "live" if self.d.gate.live else "observe")
            sent = time.perf_counter()
            self.services.routes.tell("feed", RunCycle(ctx=ctx, trace=inject()))
            try:
                done = self.await_completion(cycle_id, "cycle")
                self.summary.cycle_ms.append((time.perf_counter() - sent) * 1000)
            except _Aborted as exc:
                span.set_attribute("btcbot.reason_code", rc.SUPERVISOR_CYCLE_ABORTED)
                self.write_aborted(cycle_id, str(exc), ctx.trace_id, ctx.started_wall_ms)
                return None
            span.set_attribute("btcbot.reason_code", cycle_reason([o.reason_code for o in done.outcomes]))
        self.absorb(done)
        self.summary.record_cycle(done.outcomes)
        self.metrics.record(done.outcomes, done.stats, duration_ms=self.summary.cycle_ms[-1])
        esc = self.monitor.observe_cycle(
            {o.symbol: o.reason_code for o in done.outcomes},
            self.live_orders,
            self.d.clock.wall_ms(),
            submitted=done.stats.submitted,
            rejected=done.stats.rejected,
            latencies_ms=done.stats.submit_latencies_ms,
        )
        if esc is not None:
            if esc.cause == "reject_rate" and not self.clock_checked:
                esc = replace(esc, detail=self.with_clock_hint(esc.detail))
            self.supervisor.escalate(esc.cause, esc.detail, cycle_id, ctx.trace_id)
            if esc.ends_run:
                self.end_cause = esc.cause
        settle(self.d.store, done.trace)  # the quiet window: nothing of it may overlap a cycle
        return done

    def with_clock_hint(self, detail: str) -> str:
        """Refusals en masse are often a host clock off by more than the venue's stamp window (every signed
        request answers 401): when the venue's clock says so, the escalation, its alert and the summary say so."""
        self.clock_checked = True
        try:
            offset = measure_clock_offset(self.d.reader, now_ns=lambda: self.d.clock.wall_ms() * 1_000_000)
        except ExchangeError as exc:
            log.warning("could not read the venue's clock (%s)", type(exc).__name__)
            return detail
        hint = clock_hint(offset)
        if hint is None:
            return detail
        self.summary.anomaly("clock_offset", kv(offset_ms=f"{offset.offset_ms:.0f}", next="fix the host clock (NTP)"))
        return f"{detail}; {hint}"

    def show_cycle(self, cycle_id: int, done: CycleCompleted | None) -> None:
        """Hand the operator's view of the cycle to ``on_cycle``; a display problem never stops the run."""
        if self.d.on_cycle is None:
            return
        try:
            facts = CycleFacts(
                cycle_id,
                done.outcomes if done else None,
                done.stats if done else None,
                self.summary.cycle_ms[-1] if done else None,
                self.live_orders,
            )
            view = build_cycle_view(
                facts,
                command=self.o.command,
                symbols=self.symbols,
                max_cycles=self.o.max_cycles,
                cycle_seconds=self.o.cycle_seconds,
                live=self.d.gate.live,
                safe_mode_setting=self.s.safe_mode,
                safe_mode_cause=self.d.gate.safe_mode_cause,
                elapsed_s=(self.d.clock.monotonic_ns() - self.started_ns) / 1e9,
            )
            self.d.on_cycle(view)
        except Exception:  # the display is never a reason to stop trading
            log.warning("the per-cycle display failed; the run goes on", exc_info=True)

    def stop_unsettled(self) -> bool:
        """A stop-time cancel still to confirm, or still to make: an order this bot placed (the stop cancels no
        adopted orphan) that is open although its cancel went out, because the venue did not take it."""
        return any(
            r.status is OrderStatus.CANCEL_PENDING
            or (r.status in (OrderStatus.OPEN, OrderStatus.PARTIAL) and r.decision_id is not None)
            for r in self.live_orders
        )

    def stop_cancel(self, cycle_id: int) -> None:
        """Cancel this bot's open orders at the end of the run (when allowed); ``self.cleanup`` says what it did."""
        cancel = self.o.cancel_on_exit if self.o.cancel_on_exit is not None else self.s.cancel_open_orders_on_stop
        before = {r.client_order_id for r in self.live_orders if r.status.is_open}  # OPEN, PARTIAL, CANCEL_PENDING
        if not cancel:
            self.cleanup = "skipped:cancel_on_stop_disabled"
            return
        if not self.d.gate.decision.protective_cancel_allowed:
            self.cleanup = "skipped:observe_only"
            return
        if not before:
            self.cleanup = "nothing_open"
            return
        with start_span("stop_cancel", root=True, attributes={"btcbot.run_id": self.d.run_id}) as span:
            ctx = self.ctx(cycle_id, "stop", trace_id_hex(span))
            self.services.routes.tell(
                "order_manager", CancelOpenOrders(ctx=ctx, reason_code=rc.STOP_CANCEL, trace=inject())
            )
            try:
                self.absorb(self.await_completion(cycle_id, "stop"))
                # The venue accepts a cancel before it is final: reconcile until it is confirmed, and send again a
                # cancel the venue did not take (a 429, a 5xx), within the same bound.
                deadline_ns = self.d.clock.monotonic_ns() + int(STOP_CONFIRM_ATTEMPTS * STOP_CONFIRM_INTERVAL_S * 1e9)
                for _ in range(STOP_CONFIRM_ATTEMPTS):
                    if not self.stop_unsettled() or self.d.clock.monotonic_ns() >= deadline_ns:
                        break
                    if self.d.clock.wait(self.d.stop.hard, STOP_CONFIRM_INTERVAL_S):
                        break
                    ctx = self.ctx(cycle_id, "stop", ctx.trace_id)
                    self.services.routes.tell(
                        "order_manager", CancelOpenOrders(ctx=ctx, reason_code=rc.STOP_CANCEL, trace=inject())
                    )
                    self.absorb(self.await_completion(cycle_id, "stop"))
            except _Aborted:
                self.summary.anomaly("stop_cancel_incomplete")
            finally:
                still = {r.client_order_id for r in self.live_orders if r.status.is_open}
                self.cleanup = f"cancelled:{len(before - still)}"
            pending = [r.client_order_id for r in self.live_orders if r.status is OrderStatus.CANCEL_PENDING]
            if pending:
                self.summary.anomaly("stop_cancel_unconfirmed", kv(ids=",".join(sorted(pending))))

    def run(self) -> None:
        cycle_id = 0
        try:
            self.startup()
            limit = self.o.max_cycles
            while limit is None or cycle_id < limit:
                if self.d.stop.graceful.is_set():
                    break
                cycle_id += 1
                started = self.d.clock.monotonic_ns()
                done = self.one_cycle(cycle_id)
                self.summary.cycles = cycle_id
                self.show_cycle(cycle_id, done)
                self.check_liveness(cycle_id)
                if self.end_cause is not None:
                    log.error("run ends early: %s", self.end_cause)
                    break
                if self.o.until_idle and not self.live_orders and self.placed_enough():
                    break
                if limit is not None and cycle_id >= limit:
                    break
                remaining = self.o.cycle_seconds - (self.d.clock.monotonic_ns() - started) / 1e9
                if remaining > 0:
                    self.d.clock.wait(self.d.stop.graceful, remaining)
            if self.d.stop.hard.is_set():
                raise _StoppedAtOnce
            self.stop_cancel(cycle_id)
        except _StoppedAtOnce:
            self.cleanup = self.cleanup or "skipped:stopped_at_once"
        except _Fatal as exc:
            self.summary.anomaly("run_aborted", kv(why=str(exc)))
        except _Refused as exc:
            self.refusal = str(exc)  # nothing was sent, and nothing is cancelled: the orders are not ours

    def end_state(self, stuck: list[str]) -> RunEnd:
        """Called once every actor has stopped (or was given up on)."""
        live = self.live_orders
        if self.view_may_lag:
            # A cycle's completion never arrived (stopped at once, aborted, timed out): the order manager wrote
            # every change of its ledger to the store, which is more recent than the session's last view. So it is
            # when the order manager is stuck mid-submit: its INTENT row was written before the request left.
            self.d.store.flush()
            live = tuple(load_live_orders(self.d.store, self.prefixes))
        stop = self.d.stop
        return RunEnd(
            live_orders=live,
            venue_429s=(self.d.venue_429s() - self.venue_429s_at_start) if self.d.venue_429s is not None else 0,
            safe_mode_cause=self.d.gate.safe_mode_cause,
            interruption=(
                Interruption(tuple(stop.requests), self.cleanup or "skipped:run_aborted") if stop.interrupted else None
            ),
            canary_not_placed=(
                self.o.command == "canary_once"
                and self.d.gate.decision.live
                and self.summary.placed == 0
                and not any(r.run_id == self.d.run_id for r in live)  # one whose answer never came was placed
            ),
            stuck_actors=tuple(stuck),
            refused=self.refusal is not None,
        )


def _run_row(options: RuntimeOptions, deps: RuntimeDeps, symbols: tuple[str, ...]) -> dict[str, Any]:
    return {
        "run_id": deps.run_id,
        "started_at": utc(deps.clock.wall_ms()),
        "ended_at": None,
        "command": options.command,
        "mode": deps.gate.decision.mode.value,
        "arm_reasons": ",".join(deps.gate.decision.reasons),
        "pid": os.getpid(),
        "account_scope": deps.settings.resolved_account_scope,
        "symbols": ",".join(symbols),
        "exit_code": None,
        "settings_json": json.dumps(redacted_view(deps.settings), sort_keys=True),
    }


def run_session(options: RuntimeOptions, deps: RuntimeDeps) -> RunResult:
    """Run the actor graph to the end; never leaves an actor thread behind."""
    session = _Session(options, deps)
    run_row = _run_row(options, deps, session.symbols)
    if deps.manage_market_data:
        deps.market_data.start()
    stuck: list[str] = []
    try:
        session.run()
    finally:
        stuck = session.supervisor.stop_all(timeout_s=0.5 if deps.stop.hard.is_set() else 5.0)
        if deps.manage_market_data:
            try:
                deps.market_data.stop()
            except Exception:
                log.warning("market data source did not stop cleanly", exc_info=True)
        for name in stuck:
            log.error("actor %s did not stop in time", name)
        if stuck:
            pykka.ActorRegistry.stop_all(block=False)
    code = session.summary.conclude(session.end_state(stuck))
    # The store is append-only (no UPDATE), so the run row is written once, complete, at the end; a run
    # killed outright leaves none, but its cycles, decisions and orders all carry its run_id.
    deps.store.insert("runs", [{**run_row, "ended_at": utc(deps.clock.wall_ms()), "exit_code": code}])
    deps.store.flush()
    export_spans()  # the stop's spans too, before the run returns
    return RunResult(exit_code=code, summary=session.summary, stuck_actors=stuck, refusal=session.refusal)
