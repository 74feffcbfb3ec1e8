"""Client-side rate limiting so normal operation never meets a 429.

BTCTurk counts requests in fixed windows that start at the first request (§3 of the API notes). A token bucket
of capacity C refilled at R/s admits at most ``C + R*T`` requests in *any* window of length T, wherever the venue
aligns it. With ``C = R*T = limit*safety/2`` that is ``limit*safety`` per window, so the bucket stays inside
every documented limit while still allowing a burst of half the quota.

``acquire`` waits (bounded) for a token instead of sending; if the wait would exceed the bound it raises
RateLimited without sending anything.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from btcbot.errors import HeldBackLocally


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    period_s: float


# (method, route template) -> documented limits. Routes not listed (server/time, exchangeinfo) are unlimited.
DOCUMENTED_LIMITS: Mapping[tuple[str, str], tuple[Limit, ...]] = {
    ("GET", "/api/v1/users/balances"): (Limit(120, 60),),
    ("POST", "/api/v1/order"): (Limit(300, 60), Limit(10, 1)),
    ("DELETE", "/api/v1/order"): (Limit(300, 60), Limit(10, 1)),
    ("GET", "/api/v1/order/{orderId}"): (Limit(900, 60), Limit(30, 1)),
    ("GET", "/api/v1/openOrders"): (Limit(300, 60),),
    ("GET", "/api/v1/allOrders"): (Limit(300, 60),),
    ("GET", "/api/v1/users/transactions/trade"): (Limit(120, 60),),
    ("GET", "/api/v2/ticker"): (Limit(600, 60),),
    ("GET", "/api/v2/orderbook"): (Limit(180, 60),),
    ("GET", "/api/v2/trades"): (Limit(90, 60),),
}


class TokenBucket:
    __slots__ = ("_tokens", "_updated", "capacity", "rate_per_s")

    def __init__(self, limit: Limit, *, safety: float, now: float, capacity: int | None = None) -> None:
        """``capacity`` (the burst) is at most half the budget; a smaller one buys a faster refill (even pacing)."""
        budget = max(1.0, limit.count * safety)
        half = math.floor(budget / 2)
        self.capacity = max(1.0, half if capacity is None else min(capacity, half))
        self.rate_per_s = (
            (budget - self.capacity) / limit.period_s if budget > self.capacity else budget / (2 * limit.period_s)
        )
        self._tokens = self.capacity
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate_per_s)
            self._updated = now

    def wait_s(self, now: float) -> float:
        self._refill(now)
        # The epsilon keeps float residue from turning a due token into an endless series of tiny waits.
        if self._tokens >= 1.0 - 1e-9:
            return 0.0
        return (1.0 - self._tokens) / self.rate_per_s

    def take(self) -> None:
        self._tokens -= 1.0


class RateLimiter:
    """Thread-safe token buckets per (method, route template), plus venue-imposed blocks after a 429."""

    def __init__(
        self,
        limits: Mapping[tuple[str, str], tuple[Limit, ...]] = DOCUMENTED_LIMITS,
        *,
        safety: float = 0.9,
        max_wait_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self.max_wait_s = max_wait_s
        now = monotonic()
        self._buckets = {
            key: tuple(TokenBucket(lim, safety=safety, now=now) for lim in lims) for key, lims in limits.items()
        }
        self._blocked_until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self.waits = 0  # how often a caller had to wait; exported for tests and metrics
        # Every 429 the venue answered despite this limiter (each one reaches ``block``); the run summary reports
        # any as an anomaly, because the limiter exists so that there are none.
        self.venue_429s = 0

    def acquire(self, method: str, route: str, *, max_wait_s: float | None = None, honour_block: bool = True) -> None:
        """Take a token, waiting at most the bound. ``honour_block=False`` skips a venue-imposed block (only the
        kill switch's cancels do that); our own token buckets still pace the call.
        """
        key = (method, route)
        bound = self.max_wait_s if max_wait_s is None else max_wait_s
        buckets = self._buckets.get(key, ())
        deadline = self._monotonic() + bound
        while True:
            with self._lock:
                now = self._monotonic()
                wait = max((b.wait_s(now) for b in buckets), default=0.0)
                if honour_block:
                    wait = max(wait, self._blocked_until.get(key, 0.0) - now)
                if wait <= 0:
                    for b in buckets:
                        b.take()
                    return
            if now + wait > deadline:
                raise HeldBackLocally(
                    f"client-side rate limit for {method} {route}: next slot in {wait:.2f}s "
                    f"(bound {bound:.2f}s); request not sent, try again later",
                    retry_after_s=wait,
                )
            self.waits += 1
            self._sleep(wait)

    def block(self, method: str, route: str, seconds: float) -> None:
        """The venue said 429 with Retry-After: hold every caller of this endpoint back for that long."""
        with self._lock:
            self.venue_429s += 1
            until = self._monotonic() + max(0.0, seconds)
            key = (method, route)
            self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), until)


def unlimited() -> RateLimiter:
    return RateLimiter(limits={})
