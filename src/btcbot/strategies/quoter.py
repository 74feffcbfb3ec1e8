"""A two-sided passive quoter: one bid and one ask around the mid, skewed by inventory, replaced only on drift.

Both quotes sit ``spread_bps / 2`` either side of a center. The center is the mid moved against the bot's position:
down by ``skew_bps`` at a full long position (so the ask gets hit sooner and the bid later), up at a full short.
"Full" is the tighter of ``max_position`` and MAX_POSITION_BASE; a side whose quote could take the position past
it is not quoted at all, so the risk gate never has to refuse one for the cap. A live quote is kept while its price
is within ``replace_threshold_bps`` of where the quote would go now; past that it is cancelled and re-placed (in
the next cycle, once the cancel is confirmed). A quote is never moved for less, so a quiet market costs no order
traffic, and BTCTurk's order rate limits (10 per second, 300 per minute for submits and for cancels) stay far
away. Quotes are post-only by default: one that would take the book is refused by the gate instead of sent.

It needs room in the caps for two orders: MAX_ORDERS_PER_CYCLE >= 2, MAX_OPEN_ORDERS_PER_SYMBOL >= 2 and
NOTIONAL_CAP_TRY_PER_CYCLE >= 2 x ``order_notional`` (see docs/strategies.md).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from btcbot.strategy import LiveOrder, MarketView, OrderSide, Strategy, StrategyConfig, Wanted, WantedOrder, bps


class QuoterConfig(StrategyConfig):
    spread_bps: Decimal = Field(default=Decimal(30), gt=0, le=2000, description="distance between bid and ask")
    order_notional: Decimal = Field(default=Decimal(120), gt=0, description="each quote's value in the quote asset")
    skew_bps: Decimal = Field(default=Decimal(15), ge=0, le=1000, description="center shift at a full position")
    replace_threshold_bps: Decimal = Field(
        default=Decimal(10), ge=0, le=1000, description="keep a live quote while it is this close to its target"
    )
    max_position: Decimal | None = Field(
        default=None, gt=0, description="inventory bound in the base asset (the tighter of this and MAX_POSITION_BASE)"
    )
    post_only: bool = Field(default=True, description="never take liquidity: refuse a quote that would cross")


class PassiveQuoter(Strategy[QuoterConfig]):
    name = "quoter"

    def position_limit(self, view: MarketView) -> Decimal | None:
        limits = [x for x in (self.config.max_position, view.limits.max_position_base) if x is not None]
        return min(limits) if limits else None

    def targets(self, view: MarketView) -> tuple[Decimal, Decimal]:
        """The bid and ask prices the quotes would have now, on the symbol's grid and never crossing the book."""
        mid = view.mid
        assert mid is not None  # noqa: S101 - the freshness guard only lets valid books through
        limit = self.position_limit(view)
        ratio = max(Decimal(-1), min(Decimal(1), view.position.base / limit)) if limit else Decimal(0)
        center = mid * (1 - bps(self.config.skew_bps) * ratio)
        half = bps(self.config.spread_bps) / 2
        rules, tick = view.rules, view.rules.price_quantum()
        bid = rules.round_price(center * (1 - half), OrderSide.BUY)
        ask = rules.round_price(center * (1 + half), OrderSide.SELL)
        if view.best_ask is not None and bid >= view.best_ask:
            bid = view.best_ask - tick
        if view.best_bid is not None and ask <= view.best_bid:
            ask = view.best_bid + tick
        return bid, ask

    def _room(
        self, view: MarketView, side: OrderSide, price: Decimal, quantity: Decimal, current: LiveOrder | None
    ) -> str | None:
        """Why this side cannot be quoted now, or None."""
        limit = self.position_limit(view)
        pos = view.position.base
        if limit is not None and (pos + quantity > limit if side is OrderSide.BUY else pos - quantity < -limit):
            return "position_limit"
        if not view.balances.known:
            return None
        left = current.left if current is not None else Decimal(0)  # what the live quote already has locked
        if side is OrderSide.SELL and view.balances.free(view.base_asset) + left < quantity:
            return "no_base_balance"
        locked = left * current.price if current is not None else Decimal(0)
        if side is OrderSide.BUY and view.balances.free(view.quote_asset) + locked < price * quantity:
            return "no_quote_balance"
        return None

    def decide(self, view: MarketView) -> Wanted:
        wanted: list[WantedOrder] = []
        idle: list[str] = []
        for side, target in zip((OrderSide.BUY, OrderSide.SELL), self.targets(view), strict=True):
            quantity = view.rules.round_quantity(self.config.order_notional / target)
            working = [o for o in view.orders_on(side) if not o.cancelling]
            current = working[0] if working else None
            why = "size_rounds_to_zero" if quantity <= 0 else self._room(view, side, target, quantity, current)
            if why is not None:
                idle.append(f"{side.value}:{why}")
                continue
            if current is not None and abs(current.price - target) <= target * bps(self.config.replace_threshold_bps):
                wanted.append(current.keep())
            else:
                wanted.append(WantedOrder(side, target, quantity, self.config.post_only))
        return Wanted(tuple(wanted), ",".join(idle) or None)
