"""Backtest accounting from the run's own fills: what a strategy author reads to decide whether to trust it.

Per symbol: position (bought minus sold, in the base asset), average cost of that position, realized PnL
(closing trades against the average cost), unrealized PnL at the mark, fees (the venue's ``fee`` plus the
VAT share ``tax``, both charged in the quote asset, §6.7 of the API notes), turnover (traded notional), and
maker/taker counts. The net PnL is realized + unrealized - fees; across symbols it is summed in TRY.

The position starts at zero whatever the account held before: it is what the run traded, so a first sell
is a negative position (sold out of the starting inventory) and its PnL is the trading result against
holding that inventory. That makes the net PnL equal to the change of the account's balances valued at the
marks, which the summary checks.

The mark is what closing the position at the recorded touch would fetch: the best bid for a long, the best ask
for a short (before the closing fee). A mid would flatter every open position by half the spread, which is the
whole edge of a quoting strategy. Another quote asset is converted to TRY at its ``<QUOTE>TRY`` mid.

The equity curve is the net PnL at each mark sample (the venue samples the recorded touch whenever the
runtime queries it, at least once per cycle), starting from zero before the first fill: the run starts flat.
Max drawdown is its largest fall from a running peak, that zero included.

Rate-limit headroom: the most requests of each kind in any window of the venue's limit periods (§3), set
against those limits. A sliding window counts at least what BTCTurk's fixed windows would, so a peak under
the limit here is under it at the venue too. Everything is pure and ``Decimal``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from btcbot.domain.orders import Fill, OrderSide
from btcbot.exchange.btcturk.limiter import DOCUMENTED_LIMITS, Limit
from btcbot.runtime.positions import SymbolPosition, apply_fill

QUOTE = "TRY"
_ZERO = Decimal(0)


class Touch(NamedTuple):
    """A symbol's recorded best bid and best ask at one moment."""

    bid: Decimal
    ask: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class BacktestFill:
    """One of the run's fills and whether it rested (maker fee) or took the book (taker fee)."""

    fill: Fill
    maker: bool


@dataclass(slots=True)
class SymbolAccount:
    """One symbol's figures; fed each fill once, in time order.

    Position, average cost and realized PnL are ``btcbot.runtime.positions.apply_fill``: the same average-cost
    rules as the position the runtime shows a strategy and caps with MAX_POSITION_BASE.
    """

    symbol: str
    base: str
    quote: str
    pos: SymbolPosition = field(init=False)
    fee: Decimal = _ZERO
    tax: Decimal = _ZERO
    maker_fees: Decimal = _ZERO  # fee + tax of maker fills
    taker_fees: Decimal = _ZERO
    turnover: Decimal = _ZERO
    bought: Decimal = _ZERO
    sold: Decimal = _ZERO
    fills: int = 0
    maker_fills: int = 0

    def __post_init__(self) -> None:
        self.pos = SymbolPosition(self.symbol)

    @property
    def position(self) -> Decimal:
        return self.pos.base

    @property
    def average_cost(self) -> Decimal | None:
        return self.pos.average_cost

    @property
    def realized_pnl(self) -> Decimal:
        return self.pos.realized_pnl

    @property
    def fees(self) -> Decimal:
        return self.fee + self.tax

    def apply(self, bf: BacktestFill) -> None:
        f = bf.fill
        self.pos = apply_fill(self.pos, f)
        self.fee += f.fee
        self.tax += f.tax
        if bf.maker:
            self.maker_fills += 1
            self.maker_fees += f.fee + f.tax
        else:
            self.taker_fees += f.fee + f.tax
        self.turnover += f.price * f.quantity
        if f.side is OrderSide.BUY:
            self.bought += f.quantity
        else:
            self.sold += f.quantity
        self.fills += 1

    def mark(self, touch: Touch | None) -> Decimal | None:
        """The price that values the open position: what closing it at the touch would fetch."""
        if touch is None:
            return None
        return touch.bid if self.position > 0 else touch.ask if self.position < 0 else touch.mid

    def unrealized_pnl(self, mark: Decimal | None) -> Decimal | None:
        if self.position == 0:
            return _ZERO
        if mark is None or self.average_cost is None:
            return None
        return (mark - self.average_cost) * self.position

    def net_pnl(self, mark: Decimal | None) -> Decimal | None:
        unrealized = self.unrealized_pnl(mark)
        return None if unrealized is None else self.realized_pnl + unrealized - self.fees


def _in_try(amount: Decimal, quote: str, touches: Mapping[str, Touch]) -> Decimal | None:
    if quote == QUOTE or amount == 0:
        return amount
    rate = touches.get(f"{quote}{QUOTE}")
    return None if rate is None else amount * rate.mid


class Ledger:
    """Every symbol's account, and their sum in TRY at a set of marks."""

    def __init__(self, pairs: Mapping[str, tuple[str, str]]) -> None:
        """``pairs``: symbol -> (base asset, quote asset)."""
        self.accounts = {s: SymbolAccount(s, b, q) for s, (b, q) in sorted(pairs.items())}

    def apply(self, bf: BacktestFill) -> None:
        self.accounts[bf.fill.symbol].apply(bf)

    def total_in_try(
        self, touches: Mapping[str, Touch], figure: Callable[[SymbolAccount, Decimal | None], Decimal | None]
    ) -> Decimal | None:
        """``figure(account, its mark)`` summed over the symbols in TRY; None if one cannot be valued."""
        total = _ZERO
        for acct in self.accounts.values():
            value = figure(acct, acct.mark(touches.get(acct.symbol)))
            in_try = None if value is None else _in_try(value, acct.quote, touches)
            if in_try is None:
                return None
            total += in_try
        return total

    def net_pnl(self, touches: Mapping[str, Touch]) -> Decimal | None:
        """The run's net PnL in TRY; None while a symbol with a position (or its quote) has no touch."""
        return self.total_in_try(touches, SymbolAccount.net_pnl)

    def traded_assets(self) -> set[str]:
        return {asset for a in self.accounts.values() if a.fills for asset in (a.base, a.quote)}


@dataclass(frozen=True, slots=True)
class Drawdown:
    amount: Decimal = _ZERO  # largest peak-to-trough fall of the curve, TRY
    peak_ms: int | None = None
    trough_ms: int | None = None


def max_drawdown(curve: Sequence[tuple[int, Decimal]]) -> Drawdown:
    worst = Drawdown()
    peak: tuple[int, Decimal] | None = None
    for ts, value in curve:
        if peak is None or value > peak[1]:
            peak = (ts, value)
        fall = peak[1] - value
        if fall > worst.amount:
            worst = Drawdown(fall, peak[0], ts)
    return worst


@dataclass(frozen=True, slots=True)
class Accounting:
    """The ledger after every fill, the curve and the series the HTML report draws."""

    ledger: Ledger
    touches: dict[str, Touch]  # the last recorded touch of each symbol
    curve: list[tuple[int, Decimal]]  # (virtual ms, net PnL in TRY)
    drawdown: Drawdown
    positions: dict[str, list[tuple[int, Decimal]]]  # symbol -> (ms, position after each fill)
    prices: dict[str, list[tuple[int, Decimal]]]  # symbol -> (ms, mid) at each sample
    fills: list[BacktestFill] = field(default_factory=list)

    def net_pnl(self) -> Decimal | None:
        return self.ledger.net_pnl(self.touches)

    def mark(self, symbol: str) -> Decimal | None:
        """The last price that valued ``symbol``'s open position (bid if long, ask if short, mid if flat)."""
        return self.ledger.accounts[symbol].mark(self.touches.get(symbol))


def account(
    fills: Iterable[BacktestFill],
    mark_samples: Iterable[tuple[int, Mapping[str, Touch]]],
    pairs: Mapping[str, tuple[str, str]],
) -> Accounting:
    """Replay the fills in time order against the touch samples (the latest touch per symbol carries forward).

    The curve starts at zero at the first sample or fill, whichever is first: before its first fill the run
    is flat, so a loss on that fill is a drawdown even when a sample carries the fill at once. A fill stamped
    at a sample's time is in that sample. A sample at which a traded symbol has no touch yet is left out of
    the curve rather than valued at a guess.
    """
    ordered = sorted(fills, key=lambda bf: (bf.fill.ts_ms, bf.fill.trade_id))
    samples = list(mark_samples)
    ledger = Ledger(pairs)
    touches: dict[str, Touch] = {}
    curve: list[tuple[int, Decimal]] = []
    positions: dict[str, list[tuple[int, Decimal]]] = {s: [] for s in ledger.accounts}
    prices: dict[str, list[tuple[int, Decimal]]] = {s: [] for s in ledger.accounts}
    i = 0

    def take_fills_until(ts: int | None) -> None:
        nonlocal i
        while i < len(ordered) and (ts is None or ordered[i].fill.ts_ms <= ts):
            bf = ordered[i]
            ledger.apply(bf)
            positions[bf.fill.symbol].append((bf.fill.ts_ms, ledger.accounts[bf.fill.symbol].position))
            i += 1

    first = [ts for ts, _ in samples[:1]] + [bf.fill.ts_ms for bf in ordered[:1]]
    if first:
        curve.append((min(first), _ZERO))
    for ts, sample in samples:
        take_fills_until(ts)
        for symbol, touch in sample.items():
            touches[symbol] = touch
            if symbol in prices:
                prices[symbol].append((ts, touch.mid))
        net = ledger.net_pnl(touches)
        if net is not None and (ts, net) != curve[0]:
            curve.append((ts, net))
    take_fills_until(None)
    return Accounting(ledger, touches, curve, max_drawdown(curve), positions, prices, ordered)


def fill_ratio(orders: Iterable[tuple[str, Decimal, Decimal]]) -> Decimal | None:
    """Filled quantity over the quantity of orders the venue accepted: (status, quantity, filled) rows."""
    accepted = [(q, f) for status, q, f in orders if status not in ("INTENT", "NOT_SENT", "REJECTED")]
    total = sum((q for q, _ in accepted), _ZERO)
    return None if total == 0 else sum((f for _, f in accepted), _ZERO) / total


def peak_in_window(times_ms: Sequence[int], window_ms: int) -> int:
    """The most of ``times_ms`` (sorted) that fall in any half-open window of ``window_ms``."""
    peak = 0
    for j, t in enumerate(times_ms):
        first = bisect.bisect_right(times_ms, t - window_ms, 0, j)
        peak = max(peak, j - first + 1)
    return peak


@dataclass(frozen=True, slots=True)
class RateUse:
    method: str
    route: str
    limit: int
    period_s: float
    requests: int
    peak: int

    @property
    def headroom(self) -> int:
        return self.limit - self.peak

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "route": self.route,
            "limit": self.limit,
            "period_s": self.period_s,
            "requests": self.requests,
            "peak": self.peak,
            "headroom": self.headroom,
        }


def rate_limit_use(
    calls: Mapping[tuple[str, str], Sequence[int]],
    limits: Mapping[tuple[str, str], tuple[Limit, ...]] = DOCUMENTED_LIMITS,
) -> list[RateUse]:
    """Each documented limit of every route the run called, tightest (least headroom) first."""
    out: list[RateUse] = []
    for key, times in calls.items():
        ordered = sorted(times)
        for lim in limits.get(key, ()):
            peak = peak_in_window(ordered, int(lim.period_s * 1000))
            out.append(RateUse(key[0], key[1], lim.count, lim.period_s, len(ordered), peak))
    return sorted(out, key=lambda u: (u.headroom / u.limit, u.method, u.route, u.period_s))
