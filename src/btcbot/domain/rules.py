"""Exchange trading rules for one symbol and the Decimal rounding that obeys them.

Quantities round *down* (never more spend than asked); prices round away from crossing (down for buys,
up for sells). No helper here ever returns a notional below the venue minimum or above a cap: it returns
``None`` instead and lets the caller record why.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from btcbot.domain.orders import OrderSide


@dataclass(frozen=True, slots=True)
class SymbolRules:
    symbol: str
    numerator: str
    denominator: str
    numerator_scale: int  # max decimals of a quantity
    denominator_scale: int  # max decimals of a price when has_fraction
    has_fraction: bool  # False: prices must be integers
    min_exchange_value: Decimal  # minimum notional in the quote asset
    min_price: Decimal
    max_price: Decimal
    minimum_limit_order_price: Decimal | None  # dynamic band
    maximum_limit_order_price: Decimal | None
    status: str
    order_methods: tuple[str, ...]
    maximum_order_amount: Decimal | None = None

    @property
    def tradable(self) -> bool:
        return self.status == "TRADING"

    def supports_method(self, method: str) -> bool:
        """Whether exchangeinfo lists ``method`` ("limit", "market", ...) for this pair."""
        return method.strip().upper().replace("STOPLIMIT", "STOP_LIMIT").replace("STOPMARKET", "STOP_MARKET") in (
            m.upper() for m in self.order_methods
        )

    @property
    def price_scale(self) -> int:
        return self.denominator_scale if self.has_fraction else 0

    def price_quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_scale)

    def quantity_quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.numerator_scale)

    def round_price(self, price: Decimal, side: OrderSide) -> Decimal:
        """Round to the price grid away from crossing: down for buys, up for sells."""
        rounding = ROUND_FLOOR if side is OrderSide.BUY else ROUND_CEILING
        return price.quantize(self.price_quantum(), rounding=rounding)

    def round_quantity(self, quantity: Decimal) -> Decimal:
        return quantity.quantize(self.quantity_quantum(), rounding=ROUND_FLOOR)

    def price_in_band(self, price: Decimal) -> bool:
        if price < self.min_price or price > self.max_price:
            return False
        if self.minimum_limit_order_price is not None and price < self.minimum_limit_order_price:
            return False
        return not (self.maximum_limit_order_price is not None and price > self.maximum_limit_order_price)

    def quantity_for_notional(
        self, price: Decimal, notional: Decimal, *, floor_notional: Decimal, cap_notional: Decimal
    ) -> Decimal | None:
        """Largest grid quantity with ``price*qty <= min(notional, cap)``; None if it falls below the floor.

        ``floor_notional`` is the larger of the venue minimum and the operator's minimum.
        """
        if price <= 0 or notional <= 0:
            return None
        target = min(notional, cap_notional)
        qty = self.round_quantity(target / price)
        if qty <= 0:
            return None
        notional_out = price * qty
        if notional_out < max(floor_notional, self.min_exchange_value) or notional_out > cap_notional:
            return None
        if self.maximum_order_amount is not None and qty > self.maximum_order_amount:
            return None
        return qty
