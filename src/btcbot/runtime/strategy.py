"""Strategies propose order intents from a fresh book; they never send anything.

A strategy is a small interface (``Strategy``) so others can follow the canary. It sees one symbol's
fresh book, that symbol's trading rules and this bot's live orders there, and returns a ``Proposal``:
some intents, or a reason for proposing none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from btcbot import reason_codes as rc
from btcbot.domain.market import BookSnapshot
from btcbot.domain.orders import OrderIntent, OrderSide, client_order_id
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.lifecycle import OrderRecord

_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class StrategyInput:
    run_id: str
    cycle_id: int
    account_scope: str
    symbol: str
    book: BookSnapshot  # already judged fresh and valid
    rules: SymbolRules
    live_orders: tuple[OrderRecord, ...]  # this bot's live orders on this symbol


@dataclass(frozen=True, slots=True)
class Proposal:
    symbol: str
    intents: tuple[OrderIntent, ...] = ()
    skip_reason: str | None = None  # set iff no intents
    details: tuple[tuple[str, str], ...] = field(default=())


class Strategy(Protocol):
    @property
    def name(self) -> str: ...

    def propose(self, inp: StrategyInput) -> Proposal: ...


def decision_client_id(inp: StrategyInput, index: int) -> str:
    """Deterministic per decision (run, cycle, symbol, index): a replayed decision re-derives the same id."""
    return client_order_id(inp.account_scope, f"{inp.run_id}/{inp.cycle_id}/{inp.symbol}/{index}")


@dataclass(frozen=True, slots=True)
class CanaryStrategy:
    """One passive limit buy ``offset_bps`` below the best bid, sized to ``notional_try``.

    It proposes nothing while one of its orders is still live on the symbol, so at most one canary order
    is ever open. With ``first_cycle_only`` it proposes only in cycle 1 (``canary once``).
    """

    notional_try: Decimal
    offset_bps: Decimal
    first_cycle_only: bool = False
    name: str = "canary"

    def propose(self, inp: StrategyInput) -> Proposal:
        if inp.live_orders:
            return Proposal(
                inp.symbol,
                skip_reason=rc.STRATEGY_ORDER_ACTIVE,
                details=(("client_order_id", inp.live_orders[0].client_order_id),),
            )
        if self.first_cycle_only and inp.cycle_id != 1:
            return Proposal(inp.symbol, skip_reason=rc.STRATEGY_NO_INTENT, details=(("why", "canary_once_done"),))
        bid = inp.book.best_bid
        if bid is None or bid <= 0:  # the guard rules this out; stay closed if it ever does not
            return Proposal(inp.symbol, skip_reason=rc.STRATEGY_NO_INTENT, details=(("why", "no_bid"),))
        price = inp.rules.round_price(bid * (1 - self.offset_bps / _BPS), OrderSide.BUY)
        quantity = inp.rules.round_quantity(self.notional_try / price) if price > 0 else Decimal(0)
        if quantity <= 0:
            return Proposal(inp.symbol, skip_reason=rc.STRATEGY_NO_INTENT, details=(("why", "size_rounds_to_zero"),))
        intent = OrderIntent(
            symbol=inp.symbol,
            side=OrderSide.BUY,
            price=price,
            quantity=quantity,
            client_order_id=decision_client_id(inp, 0),
        )
        return Proposal(inp.symbol, intents=(intent,))
