"""Book validity and WebSocket frame handling without a socket: garbage levels, unsorted books, sequence gaps and
frames nested too deep to decode, fed straight into the reader's frame handler."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.clock import VirtualClock
from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.exchange.btcturk.book import OrderBook
from btcbot.exchange.btcturk.private_ws import PrivateOrderFeed
from btcbot.exchange.btcturk.ws import T_BOOK_DIFF, T_BOOK_FULL, WsMarketData
from btcbot.runtime.freshness import assess_book

DEEP = "[" * 100_000 + "]" * 100_000


def _book(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> BookSnapshot:
    return BookSnapshot(
        symbol="BTCTRY",
        bids=tuple(PriceLevel(Decimal(p), Decimal(a)) for p, a in bids),
        asks=tuple(PriceLevel(Decimal(p), Decimal(a)) for p, a in asks),
        exchange_ts_ms=None,
        received_monotonic_ns=0,
        received_wall_ms=0,
        source="rest",
    )


GOOD_BIDS = [("100", "1"), ("99", "2"), ("98", "3")]
GOOD_ASKS = [("101", "1"), ("102", "2"), ("103", "3")]


def test_a_sound_book_is_valid() -> None:
    assert _book(GOOD_BIDS, GOOD_ASKS).is_valid


@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ([("99", "2"), ("100", "1")], GOOD_ASKS),  # bids ascending: the "best" bid is not the best
        (GOOD_BIDS, [("102", "2"), ("101", "1")]),  # asks descending
        ([("100", "1"), ("100", "2")], GOOD_ASKS),  # a price twice
        ([("100", "1"), ("99", "0")], GOOD_ASKS),  # zero amount deep in the book
        (GOOD_BIDS, [("101", "1"), ("102", "-2")]),  # negative amount
        ([("100", "1"), ("-1", "2")], GOOD_ASKS),  # negative price deep in the book
        ([("100", "0")], GOOD_ASKS),  # zero amount at the top
        ([("0", "1")], GOOD_ASKS),  # zero best bid
        ([], GOOD_ASKS),
        (GOOD_BIDS, []),
        ([("101", "1")], GOOD_ASKS),  # crossed at the top
    ],
)
def test_garbage_books_are_invalid(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
    book = _book(bids, asks)
    assert not book.is_valid
    verdict = assess_book(book, now_wall_ms=0, now_monotonic_ns=0, max_age_ms=1000)
    assert verdict.reason_code == rc.MARKET_DATA_INVALID_BOOK


def _lv(p: str, a: str, cp: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"P": p, "A": a}
    if cp is not None:
        d["CP"] = cp
    return d


def _snap(book: OrderBook) -> BookSnapshot:
    return book.snapshot(depth=100, received_monotonic_ns=1, received_wall_ms=2)


def test_ws_book_negative_amounts_make_it_invalid_until_the_level_is_corrected() -> None:
    book = OrderBook("BTCTRY")
    book.reset([_lv("100", "1"), _lv("99", "1")], [_lv("101", "1")], 1)
    assert _snap(book).is_valid
    book.apply([_lv("99", "-3", 0)], [])
    assert not _snap(book).is_valid
    book.apply([_lv("99", "2", 0)], [])  # the venue corrects the level
    assert _snap(book).is_valid
    assert [(lv.price, lv.amount) for lv in _snap(book).bids] == [(Decimal(100), Decimal(1)), (Decimal(99), Decimal(2))]
    book.apply([], [_lv("101", "0", 0)])  # a zero update is the protocol's removal, not garbage
    assert [lv.price for lv in _snap(book).asks] == []


def test_ws_full_book_with_a_negative_amount_is_invalid() -> None:
    book = OrderBook("BTCTRY")
    book.reset([_lv("100", "1")], [_lv("101", "-1"), _lv("102", "1")], 1)
    assert not _snap(book).is_valid


class _Socket:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


def _frame(typ: int, cs: int, bids: list[dict[str, Any]], asks: list[dict[str, Any]]) -> str:
    return json.dumps([typ, {"PS": "BTCTRY", "CS": cs, "BO": bids, "AO": asks}])


def _feed() -> tuple[WsMarketData, _Socket, VirtualClock]:
    clock = VirtualClock()
    md = WsMarketData("ws://127.0.0.1:9", ("BTCTRY",), clock=clock)
    sock = _Socket()
    md._handle(sock, _frame(T_BOOK_FULL, 10, [_lv("100", "1")], [_lv("101", "1")]), clock.monotonic_ns(), 0)
    return md, sock, clock


def _verdict(md: WsMarketData, clock: VirtualClock) -> str | None:
    return assess_book(
        md.snapshot("BTCTRY"), now_wall_ms=clock.wall_ms(), now_monotonic_ns=clock.monotonic_ns(), max_age_ms=3000
    ).reason_code


def test_a_sequence_gap_makes_the_book_stale_at_once_until_the_fresh_full_book() -> None:
    md, sock, clock = _feed()
    md._handle(sock, _frame(T_BOOK_DIFF, 11, [_lv("100", "2", 0)], []), clock.monotonic_ns(), 0)
    assert _verdict(md, clock) is None
    clock.advance_ms(5)
    md._handle(sock, _frame(T_BOOK_DIFF, 13, [_lv("100", "3", 0)], []), clock.monotonic_ns(), 0)  # 12 was lost
    assert md.stats.gaps == 1
    snap = md.snapshot("BTCTRY")
    assert snap is not None and not snap.in_sync
    assert snap.bids[0].amount == Decimal(2)  # the last good view, its receive time unchanged ...
    assert _verdict(md, clock) == rc.MARKET_DATA_STALE  # ... yet stale now, 5 ms old, not after 3000 ms
    assert [f[1]["join"] for f in sock.sent] == [False, True]  # left and re-joined obdiff
    md._handle(sock, _frame(T_BOOK_FULL, 20, [_lv("100", "4")], [_lv("101", "1")]), clock.monotonic_ns(), 0)
    assert _verdict(md, clock) is None


def test_an_out_of_sync_book_falls_back_to_rest_when_allowed() -> None:
    class Rest:
        calls = 0

        def order_book(self, symbol: str, limit: int) -> Any:
            from btcbot.exchange.btcturk.models import OrderBookData

            Rest.calls += 1
            return OrderBookData.model_validate({"timestamp": 1, "bids": [["100", "1"]], "asks": [["101", "1"]]})

    clock = VirtualClock()
    md = WsMarketData("ws://127.0.0.1:9", ("BTCTRY",), clock=clock, rest_fallback=Rest(), fallback_after_ms=3000)  # type: ignore[arg-type]
    sock = _Socket()
    md._handle(sock, _frame(T_BOOK_FULL, 10, [_lv("100", "1")], [_lv("101", "1")]), clock.monotonic_ns(), 0)
    assert md.snapshot("BTCTRY").source == "ws"  # type: ignore[union-attr]
    md._handle(sock, _frame(T_BOOK_DIFF, 12, [], []), clock.monotonic_ns(), 0)
    assert md.snapshot("BTCTRY").source == "rest" and Rest.calls == 1  # type: ignore[union-attr]


def test_frames_nested_too_deep_are_counted_and_skipped() -> None:
    md, sock, clock = _feed()
    md._handle(sock, DEEP, clock.monotonic_ns(), 0)
    md._handle(sock, DEEP.encode(), clock.monotonic_ns(), 0)
    assert md.stats.bad_frames == 2 and md.stats.last_error == "bad frame: RecursionError"
    md._handle(sock, _frame(T_BOOK_DIFF, 11, [_lv("100", "7", 0)], []), clock.monotonic_ns(), 0)
    assert md.snapshot("BTCTRY").bids[0].amount == Decimal(7)  # type: ignore[union-attr]


def test_private_feed_skips_frames_nested_too_deep() -> None:
    feed = PrivateOrderFeed("ws://127.0.0.1:9", "key-1234", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    feed._handle(DEEP)
    assert feed.last_error == "bad frame: ValueError"  # parse_json's word for "nested too deeply"
    feed._handle(json.dumps([451, {"id": 5, "symbol": "BTCTRY", "newOrderClientId": "c", "numLeft": "1"}]))
    assert [e.order_id for e in feed.events(5)] == [5]
