"""The supervision tree as typed data. ``actors/topology.toml`` mirrors it; a contract test keeps them equal.

Start order is dependency order (sinks first, so every actor's downstream exists when it starts); stop
order is the reverse (the feed stops first, the state writer last, after the final flush).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RestartStrategy = Literal["one_for_one", "escalate"]


@dataclass(frozen=True, slots=True)
class ActorSpec:
    name: str
    cls: str  # dotted path of the actor class
    parent: str
    restart: RestartStrategy
    # What the actor may block on while handling a message (never another actor's reply).
    may_block_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    name: str
    kind: str
    on_failure: str  # what a child failure does first
    max_restarts_setting: str
    window_setting: str
    on_budget_spent: str
    liveness_ping_timeout_s: float


SUPERVISOR = SupervisorSpec(
    name="supervisor",
    kind="thread",
    on_failure="latch_safe_mode",
    max_restarts_setting="ACTOR_RESTART_BUDGET",
    window_setting="ACTOR_RESTART_WINDOW_SECONDS",
    on_budget_spent="stop_run_nonzero_exit",
    liveness_ping_timeout_s=2.0,
)

ACTORS: tuple[ActorSpec, ...] = (
    ActorSpec("state_writer", "btcbot.actors.state_writer.StateWriterActor", "supervisor", "one_for_one", ("duckdb",)),
    ActorSpec(
        "reconciler", "btcbot.actors.reconciler.ReconcilerActor", "supervisor", "one_for_one", ("exchange_read",)
    ),
    ActorSpec(
        "order_manager",
        "btcbot.actors.orders.OrderManagerActor",
        "supervisor",
        "one_for_one",
        ("exchange_write", "duckdb"),
    ),
    ActorSpec("risk_gate", "btcbot.actors.risk.RiskGateActor", "supervisor", "one_for_one", ()),
    ActorSpec("strategy", "btcbot.actors.strategy.StrategyActor", "supervisor", "one_for_one", ()),
    ActorSpec("freshness_guard", "btcbot.actors.freshness.FreshnessGuardActor", "supervisor", "one_for_one", ()),
    ActorSpec("feed", "btcbot.actors.feed.FeedActor", "supervisor", "one_for_one", ("market_data",)),
)

START_ORDER: tuple[str, ...] = tuple(a.name for a in ACTORS)
STOP_ORDER: tuple[str, ...] = tuple(reversed(START_ORDER))
# The path one decision cycle takes (each arrow a tell).
CYCLE_PATH: tuple[str, ...] = (
    "feed",
    "freshness_guard",
    "strategy",
    "risk_gate",
    "order_manager",
    "reconciler",
    "order_manager",
    "state_writer",
)
