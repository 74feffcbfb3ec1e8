"""The freshness guard's decision: may a cycle act on this book at all? Fail closed, always."""

from __future__ import annotations

from dataclasses import dataclass

from btcbot import reason_codes as rc
from btcbot.domain.market import BookSnapshot

# A symbol-cycle with one of these had no usable market data: it is blocked, counts toward the
# SAFE_MODE_STALE_CYCLES streak, and leads the cycle's headline (market data comes first in the pipeline).
BLIND_CODES = frozenset({rc.MARKET_DATA_STALE, rc.MARKET_DATA_INVALID_BOOK, rc.MARKET_DATA_UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class FreshnessVerdict:
    ok: bool
    reason_code: str | None  # None iff ok
    age_ms: float | None  # the larger of the two ages we could measure
    exchange_age_ms: float | None
    local_age_ms: float | None

    @property
    def invalid_book(self) -> bool:
        return self.reason_code == rc.MARKET_DATA_INVALID_BOOK


def assess_book(
    book: BookSnapshot | None, *, now_wall_ms: int, now_monotonic_ns: int, max_age_ms: int
) -> FreshnessVerdict:
    """Judge one book.

    Age is taken both ways: by the venue's own timestamp against our wall clock (catches a frozen venue
    feed that we keep re-receiving) and by our local receive time on the monotonic clock (catches a feed
    that stopped delivering). Either one past ``max_age_ms`` blocks, and so does a book its feed knows to be out
    of sync (``in_sync`` False), at any age. A book that fails ``BookSnapshot.is_valid`` (an empty side, a
    non-positive or unsorted level, bid >= ask) is invalid regardless of age.
    """
    if book is None:
        return FreshnessVerdict(False, rc.MARKET_DATA_UNAVAILABLE, None, None, None)
    local_age = max(0.0, (now_monotonic_ns - book.received_monotonic_ns) / 1e6)
    exchange_age = None if book.exchange_ts_ms is None else float(now_wall_ms - book.exchange_ts_ms)
    age = local_age if exchange_age is None else max(local_age, exchange_age)
    if not book.is_valid:
        return FreshnessVerdict(False, rc.MARKET_DATA_INVALID_BOOK, age, exchange_age, local_age)
    if age > max_age_ms or not book.in_sync:
        return FreshnessVerdict(False, rc.MARKET_DATA_STALE, age, exchange_age, local_age)
    return FreshnessVerdict(True, None, age, exchange_age, local_age)
