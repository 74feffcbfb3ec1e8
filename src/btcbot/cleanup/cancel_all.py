"""Cancel this scope's own open orders with an operator clean-up token, then check the venue shows none left.

The procedure only cancels: the token it is given cannot submit (``btcbot.arming``). A cancel accepted by the
venue is not done until a follow-up read shows a final state, so each one is confirmed, and at the end the
venue's open orders are read again (a bounded number of times) until none of this scope's remain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from btcbot.domain.orders import VenueOrder
from btcbot.errors import ExchangeError, OrderNotCancellable, OrderNotFound, OutcomeUnknown

if TYPE_CHECKING:
    from btcbot.arming import WriteToken
    from btcbot.domain.clock import Clock
    from btcbot.exchange.btcturk.exchange import CancelConfirmation


@dataclass(frozen=True, slots=True)
class Bounds:
    """How long the clean-up waits for the venue: per cancel, then for the open-orders listing to empty."""

    confirm_timeout_s: float = 5.0  # the venue normally confirms a cancel in well under a second
    settle_checks: int = 20
    settle_interval_s: float = 0.5


DEFAULT_BOUNDS = Bounds()


class CancelVenue(Protocol):
    """What the clean-up needs from the venue (``BtcturkExchange`` fits)."""

    def cancel_order(self, exchange_order_id: int, token: WriteToken) -> None: ...

    def confirm_cancel(
        self, exchange_order_id: int, *, timeout_s: float = ..., poll_interval_s: float = ...
    ) -> CancelConfirmation: ...


class Outcome(StrEnum):
    CANCELLED = "cancelled"  # the venue shows it Canceled
    FILLED = "filled"  # a fill won the race: the venue shows it Closed
    UNCONFIRMED = "unconfirmed"  # the cancel was (maybe) accepted but no final state was seen in time
    FAILED = "failed"  # the venue refused the cancel


@dataclass(frozen=True, slots=True)
class CancelAttempt:
    order: VenueOrder
    outcome: Outcome
    detail: str
    confirmed: VenueOrder | None = None  # the venue's order as the confirming read saw it


@dataclass(frozen=True, slots=True)
class CleanupResult:
    attempts: tuple[CancelAttempt, ...]
    remaining: tuple[VenueOrder, ...] | None  # None: the venue could not be read at the end
    checks: int

    @property
    def clean(self) -> bool:
        """The venue showed none of this scope's orders open at the last check."""
        return self.remaining == ()

    @property
    def exit_code(self) -> int:
        return 0 if self.clean else 1


def describe(o: VenueOrder) -> str:
    return (
        f"{o.exchange_order_id} {o.client_order_id} {o.symbol} {o.side.value} price={o.price} "
        f"amount={o.quantity} left={o.left_amount}"
    )


def _confirmation_text(conf: CancelConfirmation, timeout_s: float) -> tuple[Outcome, str]:
    if conf.cancelled:
        return Outcome.CANCELLED, "venue: Canceled (confirmed)"
    if conf.filled:
        return Outcome.FILLED, "venue: Closed — filled before the cancel took effect"
    seen = conf.order.status.value if conf.order is not None else "not found"
    return Outcome.UNCONFIRMED, f"venue: no final state within {timeout_s:g}s (last seen: {seen})"


def cancel_one(venue: CancelVenue, order: VenueOrder, token: WriteToken, confirm_timeout_s: float) -> CancelAttempt:
    """Send one cancel and confirm it by reading the order back."""
    try:
        venue.cancel_order(order.exchange_order_id, token)
    except (OrderNotFound, OrderNotCancellable, OutcomeUnknown):
        pass  # gone already (filled, cancelled), or the answer was lost: the confirming read says which
    except ExchangeError as exc:
        return CancelAttempt(order, Outcome.FAILED, f"venue refused the cancel: {type(exc).__name__}: {exc}")
    conf = venue.confirm_cancel(order.exchange_order_id, timeout_s=confirm_timeout_s)
    outcome, text = _confirmation_text(conf, confirm_timeout_s)
    return CancelAttempt(order, outcome, text, conf.order)


def cancel_all(
    venue: CancelVenue,
    token: WriteToken,
    targets: Sequence[VenueOrder],
    *,
    open_now: Callable[[], list[VenueOrder]],
    clock: Clock,
    out: Callable[[str], None],
    bounds: Bounds | None = None,
) -> CleanupResult:
    """Cancel every target, then read ``open_now()`` (this scope's open orders) until it is empty or checks run out."""
    b = bounds or DEFAULT_BOUNDS
    attempts: list[CancelAttempt] = []
    for order in targets:
        out(f"cancel {describe(order)}")
        attempt = cancel_one(venue, order, token, b.confirm_timeout_s)
        out(f"  {attempt.detail}")
        attempts.append(attempt)
    never = threading.Event()
    remaining: tuple[VenueOrder, ...] | None = None
    checks = 0
    for checks in range(1, b.settle_checks + 1):
        try:
            remaining = tuple(open_now())
        except ExchangeError as exc:
            remaining = None
            out(f"venue check {checks}/{b.settle_checks}: open orders could not be read ({type(exc).__name__})")
        else:
            if not remaining:
                out(f"venue check {checks}/{b.settle_checks}: none of this scope's orders open")
                break
            out(f"venue check {checks}/{b.settle_checks}: {len(remaining)} of this scope's order(s) still open")
        if checks < b.settle_checks:
            clock.wait(never, b.settle_interval_s)
    return CleanupResult(tuple(attempts), remaining, checks)
