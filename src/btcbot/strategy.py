"""The strategy API: write the decision, btcbot keeps the rest (docs/strategies.md).

A strategy is a subclass of ``Strategy[YourConfig]``, where ``YourConfig`` is a pydantic model of its parameters
(subclass ``StrategyConfig``), with one method: ``decide(view) -> Wanted``. Once per cycle and symbol with a fresh
book, the runtime hands it an immutable ``MarketView`` (the book, the symbol's trading rules, this bot's live
orders there, free balances, the bot's position and average cost, its recent fills, the caps that will judge its
orders, the cycle's time) and it answers with the orders it *wants* working: side, price, quantity, limit,
optionally post-only, or none with a reason.

The runtime turns wanted-versus-live into cancels and submits (prices and quantities rounded to the symbol's grid:
buy prices down, sell prices up, quantities down; a live order is kept when a wanted order has its side, price and
quantity or remaining quantity). Every submit goes through the risk gate in full, and every refusal is a decision
record with its reason code. A strategy never sends anything and never sees a client, a token or a setting. It may
keep state on ``self`` between calls (an average, a signal); the view itself is read-only. An exception raised by
``decide`` is an actor failure: the supervisor latches safe mode (no new orders for the rest of the process).

    from decimal import Decimal
    from btcbot.strategy import MarketView, OrderSide, Strategy, StrategyConfig, Wanted, WantedOrder, bps

    class Config(StrategyConfig):
        offset_bps: Decimal = Decimal(30)
        notional: Decimal = Decimal(120)

    class BidBelow(Strategy[Config]):
        name = "bid_below"

        def decide(self, view: MarketView) -> Wanted:
            if view.best_bid is None:
                return Wanted.none("no_bid")
            price = view.best_bid * (1 - bps(self.config.offset_bps))
            return Wanted.of(WantedOrder(OrderSide.BUY, price, self.config.notional / price))

Only the names in ``__all__`` are the API; everything else in btcbot may change between versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Generic, Self, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.domain.orders import Fill, OrderSide, OrderStatus
from btcbot.domain.rules import SymbolRules

__all__ = [
    "Balances",
    "BookSnapshot",
    "Fill",
    "Limits",
    "LiveOrder",
    "MarketView",
    "OrderSide",
    "OrderStatus",
    "Position",
    "PriceLevel",
    "Strategy",
    "StrategyConfig",
    "SymbolRules",
    "Wanted",
    "WantedOrder",
    "bps",
]

_BPS = Decimal(10_000)
# No price or quantity of a real order comes near this; a value past it is a bug in the strategy, and refusing it
# here keeps every later step (the grid, the notional, the caps) inside Decimal's precision.
MAX_ORDER_VALUE = Decimal("1E+15")


def bps(value: Decimal | int | str) -> Decimal:
    """Basis points as a fraction: ``bps(25) == Decimal("0.0025")``."""
    return Decimal(value) / _BPS


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"WantedOrder.{name} must be a Decimal (or int), not {type(value).__name__}")
    out = Decimal(value)
    if not out.is_finite() or out <= 0:
        raise ValueError(f"WantedOrder.{name} must be a finite number > 0, not {out}")
    if out >= MAX_ORDER_VALUE:
        raise ValueError(f"WantedOrder.{name} must be below {MAX_ORDER_VALUE:f}, not {out}")
    return out


@dataclass(frozen=True, slots=True)
class WantedOrder:
    """One limit order the strategy wants working. ``post_only``: refused rather than sent if it would take."""

    side: OrderSide
    price: Decimal
    quantity: Decimal
    post_only: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.side, OrderSide):
            raise TypeError(f"WantedOrder.side must be an OrderSide, not {type(self.side).__name__}")
        object.__setattr__(self, "price", _decimal("price", self.price))
        object.__setattr__(self, "quantity", _decimal("quantity", self.quantity))

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the strategy wants working on the symbol now; ``reason`` says why it wants nothing (it is recorded)."""

    orders: tuple[WantedOrder, ...] = ()
    reason: str | None = None

    def __post_init__(self) -> None:
        orders = tuple(self.orders)
        for o in orders:
            if not isinstance(o, WantedOrder):
                raise TypeError(f"Wanted.orders holds a {type(o).__name__}, not a WantedOrder")
        if self.reason is not None and not isinstance(self.reason, str):
            # It goes into the decision record: anything but text would fail there, far from the strategy.
            raise TypeError(f"Wanted.reason must be a str or None, not {type(self.reason).__name__}")
        object.__setattr__(self, "orders", orders)

    @classmethod
    def of(cls, *orders: WantedOrder) -> Wanted:
        return cls(orders)

    @classmethod
    def none(cls, reason: str) -> Wanted:
        return cls((), reason)


@dataclass(frozen=True, slots=True)
class LiveOrder:
    """One of this bot's live orders on the symbol (read-only). ``cancelling``: a cancel is on its way."""

    client_order_id: str
    side: OrderSide
    price: Decimal
    quantity: Decimal
    filled: Decimal
    status: OrderStatus
    created_ms: int

    @property
    def left(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def cancelling(self) -> bool:
        return self.status is OrderStatus.CANCEL_PENDING

    def keep(self) -> WantedOrder:
        """The wanted order that keeps this one working as it is."""
        return WantedOrder(self.side, self.price, self.quantity)


@dataclass(frozen=True, slots=True)
class Position:
    """This bot's position on the symbol, from its own fills as recorded in the state DB (all its runs).

    ``base``: net quantity bought minus sold; ``average_cost``: average entry price of that net position (None when
    flat); ``realized_pnl``: quote gained or lost closing it, before fees; ``fees``: fees and tax paid, in quote.
    Holdings the account had before the bot traded are not part of it: see ``MarketView.balances``.
    """

    base: Decimal = Decimal(0)
    average_cost: Decimal | None = None
    realized_pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Balances:
    """Free balances per asset as last reconciled; ``known`` is False without credentials (observe-only)."""

    free_by_asset: tuple[tuple[str, Decimal], ...] = ()
    known: bool = False

    def free(self, asset: str) -> Decimal:
        wanted = asset.upper()
        return next((amount for name, amount in self.free_by_asset if name == wanted), Decimal(0))

    @classmethod
    def from_mapping(cls, free: Mapping[str, Decimal], *, known: bool) -> Balances:
        return cls(tuple(sorted((k.upper(), v) for k, v in free.items())), known)


@dataclass(frozen=True, slots=True)
class Limits:
    """The operator's caps that will judge this symbol's orders (a strategy that stays inside them is never refused
    for them). ``max_position_base``: None when MAX_POSITION_BASE sets no cap for the symbol."""

    max_orders_per_cycle: int
    max_open_orders: int
    max_notional_per_order: Decimal
    notional_cap_per_cycle: Decimal
    min_order_notional: Decimal
    price_collar_pct: Decimal
    max_position_base: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MarketView:
    """Everything a strategy may know about one symbol in one cycle; immutable."""

    symbol: str
    cycle_id: int
    now_ms: int  # the cycle's start, epoch ms (the dataset's time in a backtest)
    book: BookSnapshot  # fresh and valid: the freshness guard blocked the symbol otherwise
    rules: SymbolRules
    orders: tuple[LiveOrder, ...]
    balances: Balances
    position: Position
    fills: tuple[Fill, ...]  # this bot's recent fills on the symbol, oldest first
    limits: Limits

    def orders_on(self, side: OrderSide) -> tuple[LiveOrder, ...]:
        return tuple(o for o in self.orders if o.side is side)

    @property
    def base_asset(self) -> str:
        return self.rules.numerator

    @property
    def quote_asset(self) -> str:
        return self.rules.denominator

    @property
    def best_bid(self) -> Decimal | None:
        return self.book.best_bid

    @property
    def best_ask(self) -> Decimal | None:
        return self.book.best_ask

    @property
    def mid(self) -> Decimal | None:
        return self.book.mid


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class StrategyConfig(BaseModel):
    """Base for a strategy's parameters: an unknown name is refused (a typo never passes silently), values frozen.

    A parameter that is a secret (a signal service's key) should be a ``pydantic.SecretStr``: it is then shown
    and stored masked, like btcbot's own secrets.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class Strategy(Generic[ConfigT]):
    """Subclass as ``class Mine(Strategy[MyConfig])``; ``Config`` is taken from the type argument.

    ``name`` (default: the class name) appears in the start banner, ``doctor`` and the run's records.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = StrategyConfig

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Config" not in cls.__dict__:
            for base in cls.__dict__.get("__orig_bases__", ()):
                origin, args = get_origin(base), get_args(base)
                config = args[0] if args else None
                is_strategy = isinstance(origin, type) and issubclass(origin, Strategy)
                if is_strategy and isinstance(config, type) and issubclass(config, BaseModel):
                    cls.Config = config
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @classmethod
    def from_params(cls, **params: Any) -> Self:
        """Built from parameters validated by ``Config`` (handy in tests: ``MyStrategy.from_params(spread_bps=20)``)."""
        return cls(cls.Config.model_validate(params))  # type: ignore[arg-type]

    def decide(self, view: MarketView) -> Wanted:
        """The orders wanted working on ``view.symbol`` now (``Wanted()`` cancels every live one)."""
        raise NotImplementedError(f"{type(self).__name__} must implement decide(view) -> Wanted")
