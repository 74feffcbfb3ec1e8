"""The canary: one passive limit buy below the best bid, sized to a notional (runbook stages 2 and 3).

It wants nothing new while one of its orders is live (it wants that one kept, so the order manager's TTL is what
ends it), so at most one canary order is ever open. With ``first_cycle_only`` it wants an order only in cycle 1
(``canary once``).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from btcbot.strategy import MarketView, OrderSide, Strategy, StrategyConfig, Wanted, WantedOrder, bps


class CanaryConfig(StrategyConfig):
    notional_try: Decimal = Field(default=Decimal(150), gt=0, description="the order's value in the quote asset")
    offset_bps: Decimal = Field(default=Decimal(20), ge=0, le=1000, description="how far below the best bid")
    first_cycle_only: bool = Field(default=False, description="want an order in cycle 1 only (canary once)")


class CanaryStrategy(Strategy[CanaryConfig]):
    name = "canary"

    def decide(self, view: MarketView) -> Wanted:
        if view.orders:
            return Wanted(tuple(o.keep() for o in view.orders))
        if self.config.first_cycle_only and view.cycle_id != 1:
            return Wanted.none("canary_once_done")
        bid = view.best_bid
        if bid is None or bid <= 0:  # the freshness guard rules this out; stay closed if it ever does not
            return Wanted.none("no_bid")
        price = view.rules.round_price(bid * (1 - bps(self.config.offset_bps)), OrderSide.BUY)
        quantity = view.rules.round_quantity(self.config.notional_try / price) if price > 0 else Decimal(0)
        if quantity <= 0:
            return Wanted.none("size_rounds_to_zero")
        return Wanted.of(WantedOrder(OrderSide.BUY, price, quantity))
