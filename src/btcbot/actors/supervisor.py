"""The supervisor: starts the actors in order, watches them, latches safe mode, restarts within a budget.

It runs on the session's control thread (not as an actor) so it can wait on pings with timeouts and
restart a dead actor without a mailbox of its own in the way. Pykka never restarts anything by itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pykka

from btcbot import reason_codes as rc
from btcbot.actors._base import ActorServices
from btcbot.actors.messages import ActorFailed, Ping
from btcbot.actors.topology import START_ORDER, STOP_ORDER, SUPERVISOR
from btcbot.arming import ArmingGate
from btcbot.runtime.ports import RuntimeStore
from btcbot.runtime.records import alert_row, escalation_decision_row
from btcbot.runtime.supervision import RestartBudget
from btcbot.telemetry.metrics import get_metrics
from btcbot.telemetry.tracing import inject

log = logging.getLogger(__name__)

ActorFactory = Callable[[], pykka.ActorRef[Any]]


class Supervisor:
    def __init__(
        self,
        *,
        factories: Mapping[str, ActorFactory],
        services: ActorServices,
        gate: ArmingGate,
        store: RuntimeStore,
        run_id: str,
        budget: RestartBudget,
        hard_stop: threading.Event,
    ) -> None:
        self._factories = dict(factories)
        self.services = services
        self._gate = gate
        self._store = store
        self._run_id = run_id
        self._budget = budget
        self._hard_stop = hard_stop
        self._escalated: set[str] = set()
        self.failures: list[ActorFailed] = []
        self.restarts = 0
        self.budget_spent = False

    # ----- lifecycle -----
    def start_all(self) -> None:
        for name in START_ORDER:
            self.services.routes.set(name, self._factories[name]())

    def stop_all(self, timeout_s: float = 5.0) -> list[str]:
        """Stop in reverse start order; returns the names of actors that did not stop in time."""
        stuck = []
        for name in STOP_ORDER:
            ref = self.services.routes.get(name)
            if ref is None:
                continue
            try:
                ref.stop(block=True, timeout=timeout_s)
            except pykka.Timeout:
                stuck.append(name)
            except pykka.ActorDeadError:
                pass
        return stuck

    def ping_all(self, timeout_s: float | None = None) -> list[str]:
        """Names of actors that are dead or did not answer a ping in time."""
        timeout = timeout_s if timeout_s is not None else SUPERVISOR.liveness_ping_timeout_s
        futures = []
        silent = []
        for name, ref in self.services.routes.items():
            try:
                futures.append((name, ref.ask(Ping(trace=inject()), block=False)))
            except pykka.ActorDeadError:
                silent.append(name)
        for name, fut in futures:
            try:
                fut.get(timeout=timeout)
            except (pykka.Timeout, pykka.ActorDeadError):
                silent.append(name)
        return silent

    # ----- escalation -----
    def escalate(self, cause: str, detail: str, cycle_id: int, trace_id: str | None = None) -> None:
        """Latch safe mode; record a decision and an alert the first time each cause is seen."""
        first = self._gate.latch_safe_mode(cause)
        if cause in self._escalated:
            return
        self._escalated.add(cause)
        now = self.services.clock.wall_ms()
        log.error("safe mode latched: %s (%s)", cause, detail)
        get_metrics().safe_mode_escalations.add(1, {"cause": cause.split(":")[0]})
        self._store.insert(
            "decisions",
            [
                escalation_decision_row(
                    run_id=self._run_id,
                    cycle_id=cycle_id,
                    now_ms=now,
                    reason_code=rc.SUPERVISOR_SAFE_MODE,
                    cause=cause,
                    detail=detail,
                    trace_id=trace_id,
                )
            ],
        )
        self._store.insert(
            "alerts",
            [
                alert_row(
                    run_id=self._run_id,
                    now_ms=now,
                    severity="critical",
                    kind="safe_mode",
                    reason_code=rc.SUPERVISOR_SAFE_MODE,
                    message=f"safe mode latched: {cause}",
                    details={"cause": cause, "detail": detail, "first_latch": first},
                )
            ],
        )
        self._store.flush()

    def handle_failure(self, failure: ActorFailed, cycle_id: int) -> bool:
        """Latch safe mode, then restart the actor if the budget allows. False when the budget is spent."""
        self.failures.append(failure)
        self.escalate(f"actor_failure:{failure.actor}", f"{failure.phase}: {failure.error}", cycle_id)
        now = self.services.clock.wall_ms()
        if not self._budget.allow(now):
            self.budget_spent = True
            self._store.insert(
                "alerts",
                [
                    alert_row(
                        run_id=self._run_id,
                        now_ms=now,
                        severity="critical",
                        kind="restart_budget",
                        reason_code=rc.SUPERVISOR_RESTART_BUDGET_SPENT,
                        message=f"restart budget spent ({failure.actor})",
                        details={"actor": failure.actor},
                    )
                ],
            )
            self._store.flush()
            return False
        self.services.clock.wait(self._hard_stop, self._budget.backoff_s())
        self.restart(failure.actor)
        return True

    def restart(self, name: str) -> None:
        old = self.services.routes.get(name)
        if old is not None and old.is_alive():
            try:
                old.stop(block=True, timeout=2.0)
            except pykka.Timeout:
                log.error("actor %s did not stop for restart", name)
        self._store.flush()  # a restarted order manager reloads its records from the DB
        self.services.routes.set(name, self._factories[name]())
        self.restarts += 1
        self._store.insert(
            "alerts",
            [
                alert_row(
                    run_id=self._run_id,
                    now_ms=self.services.clock.wall_ms(),
                    severity="warning",
                    kind="actor_restart",
                    reason_code=rc.SUPERVISOR_ACTOR_RESTARTED,
                    message=f"actor {name} restarted",
                    details={"actor": name},
                )
            ],
        )
