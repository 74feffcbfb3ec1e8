"""Every message the actors exchange. Frozen dataclasses; each carries a W3C trace carrier (``trace``).

Naming: commands are imperative (``RunCycle``), events past tense (``BooksFetched``). The catalogue with
sender, receiver and delivery lives in ``actors/protocol.toml``; a contract test keeps the two in step.
Payload value types (``CycleContext`` and friends) live in ``btcbot.runtime.cycle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from btcbot.domain.orders import Balance, Fill
from btcbot.runtime.cycle import CycleContext, CycleStats, FreshBook, SymbolBook, SymbolOutcome
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.positions import AccountState
from btcbot.runtime.reconcile import ReconcileOutcome
from btcbot.runtime.risk_gate import RiskVerdict
from btcbot.runtime.strategy import Proposal

Carrier = dict[str, str]


@dataclass(frozen=True, slots=True)
class RunCycle:
    """Session -> feed: start one decision cycle."""

    ctx: CycleContext
    trace: Carrier


@dataclass(frozen=True, slots=True)
class BooksFetched:
    """Feed -> freshness guard: the freshest book (or none) per symbol."""

    ctx: CycleContext
    books: tuple[SymbolBook, ...]
    trace: Carrier


@dataclass(frozen=True, slots=True)
class BooksChecked:
    """Freshness guard -> strategy: fresh books to act on, and the symbols blocked (fail closed)."""

    ctx: CycleContext
    fresh: tuple[FreshBook, ...]
    outcomes: tuple[SymbolOutcome, ...]
    trace: Carrier


@dataclass(frozen=True, slots=True)
class IntentsProposed:
    """Strategy -> risk gate: what the strategy would do per fresh symbol."""

    ctx: CycleContext
    proposals: tuple[Proposal, ...]
    fresh: tuple[FreshBook, ...]
    outcomes: tuple[SymbolOutcome, ...]
    trace: Carrier


@dataclass(frozen=True, slots=True)
class RiskAssessed:
    """Risk gate -> order manager: approved intents, cancels of orders no longer wanted, and refusals, per symbol."""

    ctx: CycleContext
    verdicts: tuple[RiskVerdict, ...]
    market_data_ages: tuple[tuple[str, float | None], ...]
    # Each fresh book's local receipt (monotonic ns): the start of the cycle's update-to-order figure.
    book_received_ns: tuple[tuple[str, int], ...]
    outcomes: tuple[SymbolOutcome, ...]
    trace: Carrier


@dataclass(frozen=True, slots=True)
class RecoverOrders:
    """Session -> order manager: load unfinished orders from the DB before the first decision."""

    ctx: CycleContext
    trace: Carrier


@dataclass(frozen=True, slots=True)
class CancelOpenOrders:
    """Session -> order manager: graceful stop; cancel this bot's live orders, then reconcile."""

    ctx: CycleContext
    reason_code: str
    trace: Carrier


@dataclass(frozen=True, slots=True)
class ReconcileRequested:
    """Order manager -> reconciler: the local records to check against the venue."""

    ctx: CycleContext
    records: tuple[OrderRecord, ...]
    known_client_ids: frozenset[str]
    outcomes: tuple[SymbolOutcome, ...]
    stats: CycleStats
    force: bool
    trace: Carrier


@dataclass(frozen=True, slots=True)
class ReconcileCompleted:
    """Reconciler -> order manager: record adjustments, adoptions and alerts (or None when throttled)."""

    ctx: CycleContext
    outcome: ReconcileOutcome | None
    balances: tuple[Balance, ...] | None
    fills: tuple[Fill, ...]
    lag_ms: float | None
    outcomes: tuple[SymbolOutcome, ...]
    stats: CycleStats
    trace: Carrier


@dataclass(frozen=True, slots=True)
class RecordCycle:
    """Order manager -> state writer: the cycle's decision records; flush, then report completion."""

    ctx: CycleContext
    outcomes: tuple[SymbolOutcome, ...]
    live_orders: tuple[OrderRecord, ...]
    free_balances: tuple[tuple[str, Decimal], ...]
    account: AccountState
    stats: CycleStats
    trace: Carrier


@dataclass(frozen=True, slots=True)
class CycleCompleted:
    """State writer -> session: the cycle is recorded (``flushed``: already on disk, else the flush follows)."""

    ctx: CycleContext
    outcomes: tuple[SymbolOutcome, ...]
    live_orders: tuple[OrderRecord, ...]
    free_balances: tuple[tuple[str, Decimal], ...]
    account: AccountState
    stats: CycleStats
    flushed: bool
    trace: Carrier


@dataclass(frozen=True, slots=True)
class ActorFailed:
    """Any actor -> supervisor: an exception in start-up or in message handling."""

    actor: str
    phase: str  # start | receive
    error: str  # exception class and message (never a payload)
    trace: Carrier


@dataclass(frozen=True, slots=True)
class Ping:
    """Supervisor -> any actor (ask, with a timeout): liveness."""

    trace: Carrier


@dataclass(frozen=True, slots=True)
class Pong:
    """Any actor -> supervisor: the reply to ``Ping``."""

    actor: str
    handled: int
    trace: Carrier
