"""Order value types and the deterministic client order id."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from btcbot.domain.account_scope import scope_key

BOT_PREFIX = "btcbot"
MAX_CLIENT_ORDER_ID_LEN = 50  # BTCTurk's limit for newOrderClientId


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderMethod(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class OrderStatus(StrEnum):
    """This bot's view of an order's life. ``INTENT`` is written to the DB *before* anything is sent."""

    INTENT = "INTENT"
    OPEN = "OPEN"  # acknowledged by the venue, resting (Untouched)
    PARTIAL = "PARTIAL"
    FILLED = "FILLED"
    CANCEL_PENDING = "CANCEL_PENDING"  # DELETE accepted (200); final state not yet confirmed
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"  # a submit whose outcome we do not know; blocks its symbol until resolved
    NOT_SENT = "NOT_SENT"  # recorded intent that was never sent (observe-only, refused at the chokepoint)

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.OPEN, OrderStatus.PARTIAL, OrderStatus.CANCEL_PENDING)


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.NOT_SENT})


class VenueOrderStatus(StrEnum):
    """BTCTurk's REST status strings, exactly as the venue spells them."""

    UNTOUCHED = "Untouched"
    PARTIAL = "Partial"
    CLOSED = "Closed"
    CANCELED = "Canceled"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the strategy wants and the risk gate has approved; becomes an order once sent."""

    symbol: str
    side: OrderSide
    price: Decimal
    quantity: Decimal
    client_order_id: str
    method: OrderMethod = OrderMethod.LIMIT
    # BTCTurk has no post-only flag: the risk gate refuses a post-only intent that would take the fresh book.
    post_only: bool = False

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class SubmitAck:
    exchange_order_id: int
    client_order_id: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class VenueOrder:
    exchange_order_id: int
    client_order_id: str | None
    symbol: str
    side: OrderSide
    method: OrderMethod
    price: Decimal
    quantity: Decimal
    left_amount: Decimal
    status: VenueOrderStatus
    created_ms: int
    updated_ms: int

    @property
    def filled_quantity(self) -> Decimal:
        return self.quantity - self.left_amount


@dataclass(frozen=True, slots=True)
class Fill:
    trade_id: int
    exchange_order_id: int
    client_order_id: str | None
    symbol: str
    side: OrderSide
    price: Decimal
    quantity: Decimal  # always positive
    fee: Decimal  # always positive, in the quote asset
    tax: Decimal  # always positive, in the quote asset
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    total: Decimal
    free: Decimal
    locked: Decimal


def client_order_id(account_scope: str, decision_key: str) -> str:
    """Deterministic per decision, <= 50 chars, recognisably this bot's and this scope's after a crash.

    The same decision key always yields the same id, so a restart that re-derives a decision finds the
    order it may already have placed instead of placing a second one.
    """
    digest = hashlib.sha256(decision_key.encode()).hexdigest()[:20]
    cid = f"{owned_prefix(account_scope)}{digest}"
    assert len(cid) <= MAX_CLIENT_ORDER_ID_LEN  # noqa: S101 - bounded by construction
    return cid


def owned_prefix(account_scope: str) -> str:
    """Client ids of this bot in this scope start with this; the trailing dash keeps ``pilot`` off ``pilot1``."""
    return f"{BOT_PREFIX}-{scope_key(account_scope)}-"


def owned_prefixes(account_scope: str, legacy_scope: str | None = None) -> tuple[str, ...]:
    """Every prefix this scope recognises as its own: its own, and a pre-upgrade key-derived one if any."""
    return tuple(owned_prefix(s) for s in (account_scope, legacy_scope) if s)
