"""A seeded synthetic market: other participants keep ~25 levels a side around a drifting mid.

Each tick, per symbol: the mid takes a log-normal step; the liquidity account withdraws levels that are now
on the wrong side, sweeps account orders the new prices ran through (they fill at their own price, as the
maker), sometimes trades a little at the top of the book, and re-fills missing levels. Same seed and the
same calls => the same market, independent of which other symbols are simulated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from btcbot.sim.engine import _CTX, LIQUIDITY_USER_ID, ZERO, MatchingEngine, Side
from btcbot.sim.symbols import SymbolSpec

DEFAULT_DEPTH = 25


class SyntheticMarket:
    def __init__(
        self,
        engine: MatchingEngine,
        specs: Sequence[SymbolSpec],
        seed: int,
        *,
        depth: int = DEFAULT_DEPTH,
        trade_probability: float = 0.5,
    ) -> None:
        self.engine = engine
        self.specs = {s.name: s for s in specs}
        self.depth = depth
        self.trade_probability = trade_probability
        self.ticks = 0
        self._rng = {s.name: random.Random(f"{seed}:{s.name}") for s in specs}
        self.mid: dict[str, Decimal] = {s.name: s.initial_mid for s in specs}
        for spec in specs:
            self._requote(spec)

    def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.ticks += 1
            for spec in self.specs.values():
                rng = self._rng[spec.name]
                step = math.exp(rng.gauss(0.0, spec.volatility))
                self.mid[spec.name] = Decimal(repr(float(self.mid[spec.name]) * step)).quantize(
                    spec.price_quantum / 100
                )
                self._requote(spec, trade=True)

    def set_mid(self, symbol: str, mid: Decimal) -> None:
        spec = self.specs[symbol]
        self.mid[symbol] = mid
        self._requote(spec)

    def targets(self, spec: SymbolSpec) -> tuple[Decimal, Decimal]:
        """(best bid, best ask) the participants quote around the current mid, on the level grid."""
        step = spec.level_step
        mid = self.mid[spec.name]
        units = mid / step
        bid = (units.to_integral_value(rounding=ROUND_CEILING) - 1) * step
        ask = (units.to_integral_value(rounding=ROUND_FLOOR) + 1) * step
        if bid <= 0:
            bid = step
            ask = max(ask, bid + step)
        return bid, ask

    def _requote(self, spec: SymbolSpec, *, trade: bool = False) -> None:
        engine = self.engine
        rng = self._rng[spec.name]
        with localcontext(_CTX):
            bid, ask = self.targets(spec)
            step = spec.level_step
            lowest_bid = bid - step * (self.depth + 4)
            highest_ask = ask + step * (self.depth + 4)
            # 1. Withdraw own quotes now on the wrong side or too far away.
            for order in engine.resting_live(spec.name, "buy"):
                if order.user_id == LIQUIDITY_USER_ID and (order.price > bid or order.price < lowest_bid):
                    engine.cancel_order_now(LIQUIDITY_USER_ID, order.id)
            for order in engine.resting_live(spec.name, "sell"):
                if order.user_id == LIQUIDITY_USER_ID and (order.price < ask or order.price > highest_ask):
                    engine.cancel_order_now(LIQUIDITY_USER_ID, order.id)
            # 2. Trade through account orders the price moved past.
            crossed_bids = sum((o.left for o in engine.resting_live(spec.name, "buy") if o.price >= ask), ZERO)
            if crossed_bids > 0:
                engine.submit(LIQUIDITY_USER_ID, spec.name, "sell", "limit", crossed_bids, ask, validate=False,
                              immediate_or_cancel=True)  # fmt: skip
            crossed_asks = sum((o.left for o in engine.resting_live(spec.name, "sell") if o.price <= bid), ZERO)
            if crossed_asks > 0:
                engine.submit(LIQUIDITY_USER_ID, spec.name, "buy", "limit", crossed_asks, bid, validate=False,
                              immediate_or_cancel=True)  # fmt: skip
            engine.set_reference_price(spec.name, self.mid[spec.name])
            # 3. Some taker flow at the top of the book.
            if trade and rng.random() < self.trade_probability:
                side: Side = "buy" if rng.random() < 0.5 else "sell"
                best_bid, best_ask = engine.best_bid_ask(spec.name)
                px = best_ask if side == "buy" else best_bid
                if px is not None:
                    qty = self._qty(spec, rng, px, 0.05, 0.6)
                    engine.submit(LIQUIDITY_USER_ID, spec.name, side, "limit", qty, px, validate=False,
                                  immediate_or_cancel=True)  # fmt: skip
            # 4. Re-fill the ladder, and now and then resize one level.
            own_bids = {o.price for o in engine.resting_live(spec.name, "buy") if o.user_id == LIQUIDITY_USER_ID}
            own_asks = {o.price for o in engine.resting_live(spec.name, "sell") if o.user_id == LIQUIDITY_USER_ID}
            for i in range(self.depth):
                p_bid = bid - step * i
                if p_bid > 0 and p_bid not in own_bids:
                    engine.submit(LIQUIDITY_USER_ID, spec.name, "buy", "limit", self._qty(spec, rng, p_bid), p_bid,
                                  validate=False)  # fmt: skip
                p_ask = ask + step * i
                if p_ask not in own_asks:
                    engine.submit(LIQUIDITY_USER_ID, spec.name, "sell", "limit", self._qty(spec, rng, p_ask), p_ask,
                                  validate=False)  # fmt: skip
            if trade and rng.random() < 0.5:
                side = "buy" if rng.random() < 0.5 else "sell"
                i = rng.randrange(1, self.depth)
                price = bid - step * i if side == "buy" else ask + step * i
                for order in engine.resting_live(spec.name, side):
                    if order.user_id == LIQUIDITY_USER_ID and order.price == price:
                        engine.cancel_order_now(LIQUIDITY_USER_ID, order.id)
                if price > 0:
                    engine.submit(LIQUIDITY_USER_ID, spec.name, side, "limit", self._qty(spec, rng, price), price,
                                  validate=False)  # fmt: skip

    @staticmethod
    def _qty(spec: SymbolSpec, rng: random.Random, price: Decimal, low: float = 0.3, high: float = 3.0) -> Decimal:
        notional = float(spec.level_notional) * rng.uniform(low, high)
        qty = Decimal(repr(notional / float(price))).quantize(spec.quantity_quantum, rounding=ROUND_FLOOR)
        return max(qty, spec.quantity_quantum)
