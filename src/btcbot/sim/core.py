"""The simulator's state behind both servers: engine, synthetic market, accounts, faults, request log.

Everything here runs on the simulator's single asyncio loop thread; the engine's own lock keeps in-process
readers safe too.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from btcbot.domain.clock import Clock, SystemClock
from btcbot.sim.auth import Credential
from btcbot.sim.engine import DEFAULT_VAT_PERCENT, MatchingEngine
from btcbot.sim.market import SyntheticMarket
from btcbot.sim.ratelimit import RateLimiter
from btcbot.sim.symbols import ASSETS, SymbolSpec
from btcbot.sim.views import OrderViews

DEMO_USER_ID = 123456
DEMO_BALANCES = {"TRY": Decimal("1000000"), "BTC": Decimal("1"), "ETH": Decimal("20"), "USDT": Decimal("10000")}
REQUEST_LOG_MAX = 100_000
BOOK_DEPTH_CAP = 100
RECENT_ORDERS_SHOWN = 50  # finished orders listed by /sim/state per account, beside every open one

Levels = list[tuple[Decimal, Decimal]]


class Faults(BaseModel):
    """Injected misbehaviour; POST /sim/faults merges a partial object into the current one."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(default=0, ge=0, le=120_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_limit: bool = False
    drop_order_response: bool = False
    reject_orders: bool = False
    freeze_market_data: bool = False
    crossed_book: bool = False
    zero_bid: bool = False
    ws_disconnect: bool = False
    ws_stall: bool = False
    clock_skew_ms: int = 0
    # The private order views (openOrders, allOrders, order/{id}, user trades) trail the matching engine.
    order_view_lag_ms: int = Field(default=0, ge=0, le=600_000)
    # The 2019-2020 wire answered 401s with "success": true; opt-in for clients that must survive it.
    auth_success_true: bool = False


class SkewedClock:
    """The venue's clock: the base clock shifted by the clock_skew_ms fault."""

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.skew_ms = 0

    def wall_ms(self) -> int:
        return self.base.wall_ms() + self.skew_ms

    def monotonic_ns(self) -> int:
        return self.base.monotonic_ns()

    def wait(self, event: Any, timeout_s: float) -> bool:
        return self.base.wait(event, timeout_s)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    ts_ms: int
    method: str
    path: str
    status: int
    authenticated: bool


class SimCore:
    def __init__(
        self,
        *,
        seed: int,
        specs: Sequence[SymbolSpec],
        api_key: str,
        api_secret: str,
        clock: Clock | None = None,
        rate_limits: bool = True,
        cancel_delay_ms: int = 20,
        vat_percent: Decimal = DEFAULT_VAT_PERCENT,
    ) -> None:
        self.seed = seed
        self.specs = {s.name: s for s in specs}
        self.clock = SkewedClock(clock or SystemClock())
        self.credentials = {api_key: Credential(api_key, api_secret, DEMO_USER_ID)}
        self.rate_limits_enabled = rate_limits
        self.cancel_delay_ms = cancel_delay_ms
        self.vat_percent = vat_percent
        self.faults = Faults()
        self.requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_MAX)
        self.limiter = RateLimiter()
        self.frozen_at_ms: int | None = None
        self.on_reset: list[Callable[[], None]] = []
        self.generation = 0  # bumped by reset: caches keyed on book versions must not outlive an engine
        self._build()

    def _build(self) -> None:
        specs = list(self.specs.values())
        self.engine = MatchingEngine(
            specs, self.clock, cancel_delay_ms=self.cancel_delay_ms, vat_percent=self.vat_percent
        )
        self.views = OrderViews(self.engine, self.clock, lambda: self.faults.order_view_lag_ms)
        self.engine.add_account(DEMO_USER_ID, DEMO_BALANCES)
        self.market = SyntheticMarket(self.engine, specs, self.seed)
        self.fault_rng = random.Random(f"{self.seed}:faults")
        self.id_rng = random.Random(f"{self.seed}:client-ids")
        self.started_ms = self.clock.wall_ms()

    # ----- control -----
    def reset(self) -> None:
        """Back to the state right after start: same seed, demo balances, no faults, empty request log."""
        self.faults = Faults()
        self.clock.skew_ms = 0
        self.frozen_at_ms = None
        self.requests.clear()
        self.limiter.reset()
        self.generation += 1
        self._build()
        for hook in self.on_reset:
            hook()

    def apply_faults(self, changes: dict[str, Any]) -> Faults:
        merged = Faults.model_validate({**self.faults.model_dump(), **changes})
        if merged.freeze_market_data and not self.faults.freeze_market_data:
            self.frozen_at_ms = self.clock.wall_ms()
        if not merged.freeze_market_data:
            self.frozen_at_ms = None
        self.faults = merged
        self.clock.skew_ms = merged.clock_skew_ms
        return merged

    def tick(self, n: int = 1) -> None:
        if not self.faults.freeze_market_data:
            self.market.tick(n)
        self.engine.complete_due_cancels(self.clock.wall_ms())

    def set_mid(self, symbol: str, mid: Decimal) -> None:
        self.market.set_mid(symbol, mid)

    def record(self, method: str, path: str, status: int, authenticated: bool) -> None:
        self.requests.append(RequestRecord(self.clock.wall_ms(), method, path, status, authenticated))

    def new_client_id(self) -> str:
        return str(uuid.UUID(int=self.id_rng.getrandbits(128), version=4))

    def market_ts_ms(self) -> int:
        """Exchange timestamps stop moving while market data is frozen."""
        return self.frozen_at_ms if self.frozen_at_ms is not None else self.clock.wall_ms()

    # ----- views with faults applied -----
    def book_view(self, symbol: str, depth: int = BOOK_DEPTH_CAP) -> tuple[Levels, Levels]:
        bids, asks = self.engine.levels(symbol, depth)
        if self.faults.crossed_book and bids and asks:
            spec = self.specs[symbol]
            crossed = asks[0][0] + spec.level_step
            bids = [(crossed, bids[0][1]), *bids][:depth]
        if self.faults.zero_bid and bids:
            bids = [(Decimal(0), bids[0][1]), *bids[1:]]
        return bids, asks

    def ticker_fields(self, spec: SymbolSpec) -> dict[str, Decimal | None]:
        bids, asks = self.book_view(spec.name, 1)
        stats = self.engine.stats[spec.name]
        ref = self.engine.reference_price[spec.name] or spec.initial_mid
        last = stats.last if stats else ref
        open_ = stats.open if stats else ref
        avg = (stats.quote_volume / stats.volume) if stats and stats.volume else last
        return {
            "bid": bids[0][0] if bids else None,
            "bid_amount": bids[0][1] if bids else None,
            "ask": asks[0][0] if asks else None,
            "ask_amount": asks[0][1] if asks else None,
            "last": last,
            "high": stats.high if stats else last,
            "low": stats.low if stats else last,
            "open": open_,
            "volume": stats.volume if stats else Decimal(0),
            "average": avg.quantize(spec.price_quantum),
            "daily": last - open_,
            "daily_percent": ((last - open_) / open_ * 100).quantize(Decimal("0.01")) if open_ else Decimal(0),
        }

    def state(self) -> dict[str, Any]:
        symbols = {}
        for name, spec in self.specs.items():
            bids, asks = self.engine.levels(name, BOOK_DEPTH_CAP)
            band = self.engine.price_band(name)
            symbols[name] = {
                "mid": str(self.market.mid[name]),
                "best_bid": str(bids[0][0]) if bids else None,
                "best_ask": str(asks[0][0]) if asks else None,
                "bid_levels": len(bids),
                "ask_levels": len(asks),
                "book_version": self.engine.book_version[name],
                "minimum_limit_order_price": str(band[0]) if band else None,
                "maximum_limit_order_price": str(band[1]) if band else None,
                "pair_id": spec.pair_id,
            }
        accounts = []
        for cred in self.credentials.values():
            balances = self.engine.balances(cred.user_id)
            accounts.append(
                {
                    "user_id": cred.user_id,
                    "api_key": cred.api_key,
                    "balances": {a: {"free": str(f), "locked": str(lk)} for a, (f, lk) in balances.items()},
                    "open_orders": len(self.engine.orders(cred.user_id, open_only=True)),
                    "trades": len(self.engine.user_trades(cred.user_id)),
                    "orders": self._orders_shown(cred.user_id),
                }
            )
        return {
            "server_time_ms": self.clock.wall_ms(),
            "seed": self.seed,
            "ticks": self.market.ticks,
            "symbols": symbols,
            "accounts": accounts,
            "faults": self.faults.model_dump(),
            "rate_limits_enabled": self.rate_limits_enabled,
            "pending_cancels": self.engine.pending_cancel_count,
            "fees_collected": {a: str(v) for a, v in self.engine.fees_collected.items()},
            "requests_logged": len(self.requests),
        }

    def _orders_shown(self, user_id: int) -> list[dict[str, Any]]:
        """Every open order and the most recent finished ones, newest first (the engine's truth, no lag)."""
        newest = sorted(self.engine.orders(user_id), key=lambda o: (o.updated_ms, o.id), reverse=True)
        finished = [o.id for o in newest if not o.is_open]
        recent = set(finished[:RECENT_ORDERS_SHOWN])
        shown = [o for o in newest if o.is_open or o.id in recent]
        return [
            {
                "id": o.id,
                "client_id": o.client_id,
                "symbol": o.symbol,
                "side": o.side,
                "method": o.method,
                "status": o.status,
                "price": str(o.price),
                "amount": str(o.quantity),
                "left": str(o.left),
                "updated_ms": o.updated_ms,
            }
            for o in shown
        ]

    def request_log(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.requests]

    # ----- graph API candles -----
    def candles(
        self, symbol: str, resolution_s: int, from_s: int, to_s: int, limit: int = 500
    ) -> list[tuple[int, float, float, float, float, float]]:
        """Deterministic synthetic history ending at the current mid: (time, open, high, low, close, volume)."""
        spec = self.specs[symbol]
        now_s = self.market_ts_ms() // 1000
        to_s = min(to_s, now_s)
        last_bucket = to_s - to_s % resolution_s
        first_bucket = max(from_s - from_s % resolution_s, last_bucket - (limit - 1) * resolution_s, 0)
        if last_bucket < first_bucket or (now_s - first_bucket) // resolution_s > 50_000:
            return []  # nothing asked for, or history further back than the simulator synthesizes
        current = float(self.market.mid[symbol])
        sigma = spec.volatility * math.sqrt(max(1.0, resolution_s / 0.25)) / 4
        out: list[tuple[int, float, float, float, float, float]] = []
        close = current
        # Walk backwards from the newest bucket so the series always ends at the live mid.
        now_bucket = now_s - now_s % resolution_s
        t = now_bucket
        while t >= first_bucket:
            rng = random.Random(f"{self.seed}:{symbol}:{resolution_s}:{t}")
            open_ = close * math.exp(rng.gauss(0.0, sigma))
            high = max(open_, close) * (1 + abs(rng.gauss(0.0, sigma / 2)))
            low = min(open_, close) * (1 - abs(rng.gauss(0.0, sigma / 2)))
            volume = float(spec.level_notional) / current * rng.uniform(5, 50) * max(1.0, resolution_s / 60)
            if t <= last_bucket:
                q = spec.price_scale
                out.append((t, round(open_, q), round(high, q), round(low, q), round(close, q), round(volume, 8)))
            close = open_
            t -= resolution_s
        out.reverse()
        return out


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def asset_name(asset: str) -> str:
    spec = ASSETS.get(asset)
    return spec.name if spec else asset


def asset_precision(asset: str) -> int:
    spec = ASSETS.get(asset)
    return spec.precision if spec else 8
