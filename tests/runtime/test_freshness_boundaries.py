"""The freshness guard at its edges: the age limit exactly, each clock alone, the whole verdict not just its code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.runtime.freshness import BLIND_CODES, FreshnessVerdict, assess_book

NOW_MS = 1_700_000_000_000
NOW_NS = 5_000_000_000_000
MAX_AGE_MS = 1000


def book(*, ex_age_ms: int | None = 0, local_age_ns: int = 0, bid: str = "100", in_sync: bool = True) -> BookSnapshot:
    return BookSnapshot(
        symbol="BTCTRY",
        bids=(PriceLevel(Decimal(bid), Decimal(1)),),
        asks=(PriceLevel(Decimal("101"), Decimal(1)),),
        exchange_ts_ms=None if ex_age_ms is None else NOW_MS - ex_age_ms,
        received_monotonic_ns=NOW_NS - local_age_ns,
        received_wall_ms=NOW_MS,
        source="rest",
        in_sync=in_sync,
    )


def judge(b: BookSnapshot | None) -> FreshnessVerdict:
    return assess_book(b, now_wall_ms=NOW_MS, now_monotonic_ns=NOW_NS, max_age_ms=MAX_AGE_MS)


def test_no_book_is_unavailable_and_not_ok() -> None:
    assert judge(None) == FreshnessVerdict(False, rc.MARKET_DATA_UNAVAILABLE, None, None, None)


def test_exchange_age_exactly_at_the_limit_passes_and_one_ms_over_is_stale() -> None:
    assert judge(book(ex_age_ms=MAX_AGE_MS)) == FreshnessVerdict(True, None, 1000.0, 1000.0, 0.0)
    assert judge(book(ex_age_ms=MAX_AGE_MS + 1)) == FreshnessVerdict(False, rc.MARKET_DATA_STALE, 1001.0, 1001.0, 0.0)


def test_local_age_exactly_at_the_limit_passes_and_a_microsecond_over_is_stale() -> None:
    at_limit = judge(book(ex_age_ms=None, local_age_ns=MAX_AGE_MS * 1_000_000))
    assert at_limit == FreshnessVerdict(True, None, 1000.0, None, 1000.0)
    over = judge(book(ex_age_ms=None, local_age_ns=MAX_AGE_MS * 1_000_000 + 1_000))
    assert over == FreshnessVerdict(False, rc.MARKET_DATA_STALE, 1000.001, None, 1000.001)


def test_the_older_of_the_two_ages_decides() -> None:
    assert judge(book(ex_age_ms=300, local_age_ns=700_000_000)).age_ms == 700.0
    assert judge(book(ex_age_ms=700, local_age_ns=300_000_000)).age_ms == 700.0
    stale_by_venue = judge(book(ex_age_ms=1500, local_age_ns=10_000_000))
    assert stale_by_venue == FreshnessVerdict(False, rc.MARKET_DATA_STALE, 1500.0, 1500.0, 10.0)


def test_a_book_received_after_now_counts_as_age_zero_not_negative() -> None:
    # Monotonic stamps from another thread can land a hair after the cycle's "now".
    assert judge(book(ex_age_ms=None, local_age_ns=-5_000_000)) == FreshnessVerdict(True, None, 0.0, None, 0.0)
    assert judge(book(ex_age_ms=None, local_age_ns=0)) == FreshnessVerdict(True, None, 0.0, None, 0.0)


def test_a_venue_timestamp_in_the_future_does_not_make_a_locally_old_book_fresh() -> None:
    v = judge(book(ex_age_ms=-5000, local_age_ns=1_200_000_000))
    assert v == FreshnessVerdict(False, rc.MARKET_DATA_STALE, 1200.0, -5000.0, 1200.0)


def test_an_out_of_sync_book_is_stale_at_age_zero() -> None:
    assert judge(book(in_sync=False)) == FreshnessVerdict(False, rc.MARKET_DATA_STALE, 0.0, 0.0, 0.0)


def test_an_invalid_book_is_refused_with_its_ages() -> None:
    v = judge(book(bid="101", ex_age_ms=20, local_age_ns=5_000_000))
    assert v == FreshnessVerdict(False, rc.MARKET_DATA_INVALID_BOOK, 20.0, 20.0, 5.0)
    assert v.invalid_book
    assert not judge(book(ex_age_ms=5000)).invalid_book


def test_every_refusal_is_blind_and_ok_never_carries_a_code() -> None:
    refusals = [judge(None), judge(book(ex_age_ms=5000)), judge(book(bid="101"))]
    assert {v.reason_code for v in refusals} == BLIND_CODES
    assert not any(v.ok for v in refusals)


@pytest.mark.parametrize("max_age_ms", [1, 3000])
def test_the_limit_is_the_callers(max_age_ms: int) -> None:
    b = book(ex_age_ms=max_age_ms)
    assert assess_book(b, now_wall_ms=NOW_MS, now_monotonic_ns=NOW_NS, max_age_ms=max_age_ms).ok
    assert not assess_book(b, now_wall_ms=NOW_MS, now_monotonic_ns=NOW_NS, max_age_ms=max_age_ms - 1).ok
