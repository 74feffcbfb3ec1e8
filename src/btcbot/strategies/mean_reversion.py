"""Mean reversion of the mid against its exponential moving average, long only (spot).

The strategy keeps an EMA of the mid per symbol (one update per cycle it is asked, i.e. per fresh book). After
``warmup_cycles`` updates: while flat, a mid more than ``entry_bps`` below the EMA is a dip, and it buys
``order_notional`` worth; once long, a mid back within ``exit_bps`` of the EMA (or above it) is the reversion, and
it sells the whole position. Orders are limit orders at the touch on the far side (``aggressive``, the default:
they take the book, so the trade happens) or at the near side (passive: they wait, and are re-priced when the
touch moves). Between those moments it keeps whatever it has working, so an order is not churned every cycle.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from btcbot.strategy import MarketView, OrderSide, Strategy, StrategyConfig, Wanted, WantedOrder, bps


class MeanReversionConfig(StrategyConfig):
    ema_cycles: int = Field(default=20, ge=2, le=10_000, description="EMA span in cycles (alpha = 2 / (span + 1))")
    warmup_cycles: int = Field(default=20, ge=1, description="EMA updates before the first trade")
    entry_bps: Decimal = Field(default=Decimal(25), gt=0, le=5000, description="buy when the mid is this far below")
    exit_bps: Decimal = Field(default=Decimal(5), ge=0, le=5000, description="sell when back within this of the EMA")
    order_notional: Decimal = Field(default=Decimal(120), gt=0, description="entry size in the quote asset")
    aggressive: bool = Field(default=True, description="price at the far touch (take) rather than the near (wait)")


class MeanReversion(Strategy[MeanReversionConfig]):
    name = "mean_reversion"

    def __init__(self, config: MeanReversionConfig) -> None:
        super().__init__(config)
        self._alpha = Decimal(2) / Decimal(config.ema_cycles + 1)
        self._ema: dict[str, Decimal] = {}
        self._updates: dict[str, int] = {}

    def ema(self, symbol: str) -> Decimal | None:
        return self._ema.get(symbol)

    def _update(self, symbol: str, mid: Decimal) -> Decimal:
        prev = self._ema.get(symbol)
        ema = mid if prev is None else prev + self._alpha * (mid - prev)
        self._ema[symbol] = ema
        self._updates[symbol] = self._updates.get(symbol, 0) + 1
        return ema

    def _price(self, view: MarketView, side: OrderSide) -> Decimal | None:
        far = view.best_ask if side is OrderSide.BUY else view.best_bid
        near = view.best_bid if side is OrderSide.BUY else view.best_ask
        return far if self.config.aggressive else near

    def decide(self, view: MarketView) -> Wanted:
        mid = view.mid
        assert mid is not None  # noqa: S101 - the freshness guard only lets valid books through
        ema = self._update(view.symbol, mid)
        if self._updates[view.symbol] < self.config.warmup_cycles:
            return Wanted.none("warming_up")
        held = view.rules.round_quantity(max(view.position.base, Decimal(0)))
        if held > 0:
            if mid < ema * (1 - bps(self.config.exit_bps)):
                return self._hold(view, OrderSide.SELL, "holding")
            side = OrderSide.SELL
        else:
            if mid >= ema * (1 - bps(self.config.entry_bps)):
                return self._hold(view, OrderSide.BUY, "no_signal")
            side = OrderSide.BUY
        price = self._price(view, side)
        if price is None:
            return Wanted.none("no_price")
        quantity = held if side is OrderSide.SELL else self.config.order_notional / price
        working = [o for o in view.orders_on(side) if not o.cancelling]
        if working and working[0].price == price:
            return Wanted.of(working[0].keep())
        return Wanted.of(WantedOrder(side, price, quantity))

    @staticmethod
    def _hold(view: MarketView, side: OrderSide, why: str) -> Wanted:
        """No new signal: keep an order of the position's direction that is still working, cancel anything else."""
        working = tuple(o.keep() for o in view.orders_on(side) if not o.cancelling)
        return Wanted(working, None if working else why)
