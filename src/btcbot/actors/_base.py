"""The base every btcbot actor derives from: routing by name, failure reporting, liveness, fault hook.

Pykka does not call ``on_failure`` when ``on_start`` raises, so ``on_start`` is wrapped here and both kinds
of failure are reported to the supervisor's control queue. Actors address each other by name through
``Routes`` so a restarted actor is reachable without re-wiring its neighbours.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar

import pykka

from btcbot.actors.messages import ActorFailed, Ping, Pong
from btcbot.domain.clock import Clock
from btcbot.telemetry.tracing import inject


class InjectedFault(RuntimeError):
    """Raised by the test/demo-only fault hook; never in normal operation."""


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Test/demo only: make ``actor`` raise in ``phase`` (``receive`` on ``cycle_id``, or ``start``).

    ``phase="hang"`` instead stalls the actor for ``hang_s`` seconds on ``cycle_id`` (a stuck graph), or until
    ``release`` is set: a test ends the hang once the runtime has seen it, instead of racing a guessed duration.

    Reachable only through ``RuntimeOptions.fault`` in Python; no setting, variable or CLI flag sets it.
    """

    actor: str
    phase: str = "receive"
    cycle_id: int | None = None
    times: int = 1
    hang_s: float = 0.0
    release: threading.Event | None = None


class FaultInjector:
    def __init__(self, plan: FaultPlan | None) -> None:
        self._plan = plan
        self._left = plan.times if plan else 0
        self._lock = threading.Lock()

    def maybe_raise(self, actor: str, phase: str, cycle_id: int | None) -> None:
        plan = self._plan
        if plan is None or plan.actor != actor or plan.phase != phase:
            return
        if phase in ("receive", "hang") and plan.cycle_id is not None and plan.cycle_id != cycle_id:
            return
        with self._lock:
            if self._left <= 0:
                return
            self._left -= 1
        if phase == "hang":
            (plan.release or threading.Event()).wait(plan.hang_s)
            return
        raise InjectedFault(f"injected fault in {actor} ({phase})")


class Routes:
    """Name -> live ActorRef, updated by the supervisor on restart."""

    def __init__(self) -> None:
        self._refs: dict[str, pykka.ActorRef[Any]] = {}
        self._lock = threading.Lock()

    def set(self, name: str, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            self._refs[name] = ref

    def get(self, name: str) -> pykka.ActorRef[Any] | None:
        with self._lock:
            return self._refs.get(name)

    def tell(self, name: str, message: object) -> None:
        ref = self.get(name)
        if ref is None:
            raise pykka.ActorDeadError(f"no actor named {name}")
        ref.tell(message)

    def items(self) -> list[tuple[str, pykka.ActorRef[Any]]]:
        with self._lock:
            return list(self._refs.items())


@dataclass
class ActorServices:
    """What every actor shares: routes, the supervisor's control queue, the clock and the fault hook."""

    routes: Routes
    control: queue.Queue[object]
    clock: Clock
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(None))


class BtcbotActor(pykka.ThreadingActor):
    actor_name: ClassVar[str] = "actor"

    def __init__(self, services: ActorServices) -> None:
        super().__init__()
        self.services = services
        self.handled = 0

    # ----- lifecycle -----
    def on_start(self) -> None:
        try:
            self.services.faults.maybe_raise(self.actor_name, "start", None)
            self.start_actor()
        except Exception as exc:
            self._report("start", exc)
            raise

    def start_actor(self) -> None:
        """Subclass start-up work (runs in the actor's thread)."""

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._report("receive", exception_value)

    def _report(self, phase: str, exc: BaseException | None) -> None:
        text = f"{type(exc).__name__}: {exc}" if exc is not None else "unknown failure"
        self.services.control.put(ActorFailed(actor=self.actor_name, phase=phase, error=text[:300], trace=inject()))

    # ----- messages -----
    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Ping):
            return Pong(actor=self.actor_name, handled=self.handled, trace=inject())
        ctx = getattr(message, "ctx", None)
        self.services.faults.maybe_raise(self.actor_name, "receive", getattr(ctx, "cycle_id", None))
        self.services.faults.maybe_raise(self.actor_name, "hang", getattr(ctx, "cycle_id", None))
        self.handled += 1
        return self.handle(message)

    def handle(self, message: Any) -> Any:
        raise NotImplementedError

    def tell(self, name: str, message: object) -> None:
        self.services.routes.tell(name, message)
