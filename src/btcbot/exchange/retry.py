"""Jittered exponential backoff for *reads*. Writes are never retried (see btcbot.exchange.btcturk.http)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` counts the first try. Delays use "full jitter": uniform(0, min(cap, base * 2**n))."""

    max_attempts: int = 3
    base_delay_s: float = 0.1
    max_delay_s: float = 2.0
    # A 429 whose Retry-After exceeds this is surfaced as RateLimited instead of being slept through.
    max_retry_after_s: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def backoff_s(self, retry_index: int) -> float:
        """Delay before retry number ``retry_index`` (0 = the first retry)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2**retry_index))
        return self.rng.uniform(0.0, ceiling)

    def delay_for(self, retry_index: int, retry_after_s: float | None) -> float:
        """Backoff, but never shorter than the venue's Retry-After."""
        delay = self.backoff_s(retry_index)
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return delay


NO_RETRY = RetryPolicy(max_attempts=1)
