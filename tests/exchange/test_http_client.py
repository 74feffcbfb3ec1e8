"""BtcturkHttp details against a local fake venue: headers, bodies, typed parsing, spans, limiter, retries."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btcbot.domain.decimal_text import plain_decimal
from btcbot.domain.orders import OrderIntent, OrderMethod, OrderSide, client_order_id
from btcbot.errors import (
    AuthenticationError,
    AuthRefusedLocally,
    InvariantViolation,
    NotArmedError,
    ProtocolError,
    RateLimited,
    RequestNotSent,
)
from btcbot.exchange.btcturk.limiter import Limit, RateLimiter, TokenBucket
from btcbot.exchange.btcturk.signing import sign
from btcbot.exchange.retry import RetryPolicy

CID = client_order_id("unit", "decision-7")
INTENT = OrderIntent("BTCTRY", OrderSide.BUY, Decimal("3003290"), Decimal("0.00005000"), CID)


def test_private_calls_are_signed_and_public_ones_are_not(venue: Any, make_http: Any, fx: Any) -> None:
    http = make_http(venue.url)
    http.balances()
    http.ticker("BTCTRY")
    private, public = venue.seen
    assert private.headers["X-PCK"] == fx.API_KEY
    stamp = int(private.headers["X-Stamp"])
    assert private.headers["X-Signature"] == sign(fx.API_KEY, fx.API_SECRET, stamp)
    assert private.headers["Content-Type"] == "application/json"
    assert not {"X-PCK", "X-Stamp", "X-Signature"} & set(public.headers)
    assert public.query == {"pairSymbol": ["BTCTRY"]}


def test_submit_body_and_cancel_query(venue: Any, make_http: Any, gate: Any) -> None:
    http = make_http(venue.url)
    reply = http.submit_order(INTENT, gate.submit_token())
    assert reply.id == 21770789256
    body = json.loads(venue.seen[0].body)
    assert body == {
        "quantity": "0.00005",
        "price": "3003290",
        "newOrderClientId": CID,
        "orderMethod": "limit",
        "orderType": "buy",
        "pairSymbol": "BTCTRY",
    }
    market = OrderIntent("BTCTRY", OrderSide.BUY, Decimal(0), Decimal("150"), CID, OrderMethod.MARKET)
    http.submit_order(market, gate.submit_token())
    assert "price" not in json.loads(venue.seen[1].body)
    assert http.cancel_order(21770789256, gate.cancel_token()) is None
    cancel = venue.seen[2]
    assert (cancel.method, cancel.path, cancel.query) == ("DELETE", "/api/v1/order", {"id": ["21770789256"]})


def test_write_token_checked_at_send(venue: Any, make_http: Any, gate: Any) -> None:
    http = make_http(venue.url)
    submit, cancel = gate.submit_token(), gate.cancel_token()
    with pytest.raises(NotArmedError):
        http.submit_order(INTENT, cancel)  # a cancel token can never submit
    gate.latch_safe_mode("test: supervisor latched after the token was minted")
    with pytest.raises(NotArmedError):
        http.submit_order(INTENT, submit)
    assert venue.count() == 0


def test_bad_client_order_id_is_refused_locally(venue: Any, make_http: Any, gate: Any) -> None:
    http = make_http(venue.url)
    long_id = OrderIntent("BTCTRY", OrderSide.BUY, Decimal(1), Decimal(1), "x" * 51)
    with pytest.raises(InvariantViolation):
        http.submit_order(long_id, gate.submit_token())
    assert venue.count() == 0


def test_typed_models_keep_exact_numbers(venue: Any, make_http: Any) -> None:
    http = make_http(venue.url)
    t = http.ticker("BTCTRY")
    assert t is not None and t.volume == Decimal("25.3073659") and t.daily_percent == Decimal("2.24")
    book = http.order_book("BTCTRY")
    assert book.timestamp == 1613315997466 and book.bids[0] == (Decimal("3842925"), Decimal("0.01200000"))
    orders = http.all_orders("BTCTRY")
    assert orders[0].id == 9007199254740993  # > 2**53: never through a float
    trades = http.user_trades()
    assert trades[0].id == 1181163798924649598 and trades[0].amount == Decimal("-0.3384")
    info = http.exchange_info()
    eth = info.find("ETH_TRY")
    assert eth is not None and eth.maximum_limit_order_price == Decimal("5895000.0000000000000000")
    assert http.server_time_ms() == 1790133600027


def test_comma_decimals_are_refused(venue: Any, make_http: Any, fx: Any) -> None:
    row = {"asset": "TRY", "balance": "27223,72", "locked": "0", "free": "27223,72"}
    venue.script = lambda req: fx.Reply(body=fx.json_body({"success": True, "code": 0, "data": [row]}))
    with pytest.raises(ProtocolError, match="balances"):
        make_http(venue.url).balances()


def test_429_retry_after_is_honoured_for_reads(venue: Any, make_http: Any, fx: Any, sleeps: Any) -> None:
    replies = iter(
        [
            fx.Reply(
                status=429,
                body=fx.json_body({"message": "TOO_MANY_REQUESTS", "code": 429}),
                headers={"Retry-After": "0.05"},
            ),
            fx.Reply(body=fx.fixture_bytes("balances.json")),
        ]
    )
    venue.script = lambda req: next(replies)
    assert len(make_http(venue.url).balances()) == 2
    assert venue.count() == 2
    assert sleeps.calls and sleeps.calls[0] >= 0.05


def test_long_retry_after_is_surfaced_not_slept(venue: Any, make_http: Any, fx: Any, sleeps: Any) -> None:
    venue.script = lambda req: fx.Reply(status=429, body=b"{}", headers={"Retry-After": "53"})
    http = make_http(venue.url)
    with pytest.raises(RateLimited) as info:
        http.open_orders()
    assert info.value.retry_after_s == 53 and venue.count() == 1 and sleeps.calls == []
    # The endpoint is now blocked client-side: the next call is refused without being sent.
    with pytest.raises(RateLimited, match="not sent"):
        http.open_orders()
    assert venue.count() == 1


def test_token_bucket_stays_inside_every_fixed_window() -> None:
    """Whatever window the venue aligns, sends never exceed the documented count (10/1 s and 300/60 s)."""
    now = [0.0]
    limiter = RateLimiter(monotonic=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s), max_wait_s=60)
    sent: list[float] = []
    for _ in range(400):
        limiter.acquire("POST", "/api/v1/order")
        sent.append(now[0])
    for period, count in ((1.0, 10), (60.0, 300)):
        for i, start in enumerate(sent):
            in_window = sum(1 for t in sent[i:] if t < start + period)
            assert in_window <= count
    assert limiter.waits > 0


def test_limiter_refuses_when_the_wait_exceeds_its_bound() -> None:
    now = [0.0]
    limiter = RateLimiter(monotonic=lambda: now[0], sleep=lambda s: None, max_wait_s=0.0)
    bucket = TokenBucket(Limit(10, 1), safety=0.9, now=0.0)
    for _ in range(int(bucket.capacity)):
        limiter.acquire("DELETE", "/api/v1/order")
    with pytest.raises(RequestNotSent, match="not sent") as info:  # a write held back here did not happen
        limiter.acquire("DELETE", "/api/v1/order")
    assert isinstance(info.value, RateLimited)
    limiter.acquire("GET", "/api/v2/server/time")  # undocumented routes are not limited


def test_retry_backoff_is_jittered_and_capped() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=0.3)
    delays = [policy.backoff_s(i) for i in range(8) for _ in range(20)]
    assert all(0 <= d <= 0.3 for d in delays) and len(set(delays)) > 10
    assert policy.delay_for(0, retry_after_s=2.0) >= 2.0


def test_decimal_text_is_positional() -> None:
    assert plain_decimal(Decimal("1E-8")) == "0.00000001"
    assert plain_decimal(Decimal("3.80E+6")) == "3800000"
    assert plain_decimal(Decimal("0.00050000")) == "0.0005"


def test_spans_carry_route_status_and_code_but_no_secrets(venue: Any, make_http: Any, fx: Any, gate: Any) -> None:
    from btcbot.telemetry.setup import configure_for_tests

    handle = configure_for_tests()
    try:
        http = make_http(venue.url)
        http.get_order(61912740)
        venue.script = lambda req: fx.Reply(
            status=400, body=fx.json_body({"success": False, "message": "FAILED_MIN_TOTAL_AMOUNT", "code": 1123})
        )
        with pytest.raises(Exception):
            http.submit_order(INTENT, gate.submit_token())
        spans = handle.span_exporter.get_finished_spans()
        by_name = {s.name: s for s in spans}
        get = by_name["GET /api/v1/order/{orderId}"]
        assert get.attributes["url.template"] == "/api/v1/order/{orderId}"
        assert get.attributes["http.response.status_code"] == 200 and get.attributes["btcturk.code"] == 0
        post = by_name["POST /api/v1/order"]
        assert post.attributes["http.response.status_code"] == 400 and post.attributes["btcturk.code"] == 1123
        dump = repr([dict(s.attributes or {}) for s in spans]) + repr([s.name for s in spans])
        assert fx.API_KEY not in dump and fx.API_SECRET not in dump and "61912740" not in dump
    finally:
        handle.shutdown()


def test_repr_never_shows_secrets(make_http: Any, fx: Any) -> None:
    http = make_http("http://127.0.0.1:9")
    text = repr(http) + str(http) + repr(vars(http))
    assert fx.API_KEY not in text and fx.API_SECRET not in text


def test_only_one_code_path_writes_orders() -> None:
    """POST/DELETE /api/v1/order are sent by BtcturkHttp._write only, after the token's send-time check."""
    root = Path(__file__).resolve().parents[2] / "src" / "btcbot"
    naming_route = sorted(
        p.name for p in root.rglob("*.py") if "sim" not in p.relative_to(root).parts and "api/v1/order" in p.read_text()
    )
    # The client; the limiter's table of documented limits; the error mapping's 404-on-get-order rule; the replay
    # venue, which names the requests its in-process calls stand for (to count them against those limits).
    assert naming_route == ["http.py", "limiter.py", "translate.py", "venue.py"]
    for p in [*(root / "exchange").rglob("*.py"), root / "replay" / "venue.py"]:
        assert not re.search(r"\.(post|delete|put)\(", p.read_text()), p.name
    http_src = (root / "exchange" / "btcturk" / "http.py").read_text()
    assert http_src.count("self._session.request(") == 1
    assert http_src.count("self._write(") == 2  # submit_order and cancel_order
    assert http_src.count("write=True") == 1  # only _write sends with write semantics
    assert http_src.count("token.check_at_send(") == 1


def test_a_burst_of_401s_stops_signed_requests_before_the_venue_blocks_the_ip(
    venue: Any, make_http: Any, fx: Any, gate: Any
) -> None:
    refused = fx.json_body({"success": False, "message": "Unauthorized - Invalid Nonce", "code": 1037})
    venue.script = lambda req: fx.Reply(status=401, body=refused) if req.path.startswith("/api/v1/") else None
    http = make_http(venue.url)
    for _ in range(10):
        with pytest.raises(AuthenticationError):
            http.balances()
    with pytest.raises(AuthRefusedLocally, match="not sent"):
        http.balances()
    # Provably not sent: a submit refused here is NOT_SENT, not UNKNOWN (it cannot be resting at the venue).
    with pytest.raises(RequestNotSent):
        http.submit_order(INTENT, gate.submit_token())
    assert len(http.sent) == 10
    http.server_time_ms()  # public calls are unaffected
