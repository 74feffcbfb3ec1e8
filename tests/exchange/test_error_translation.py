"""Every raw failure x every client method -> the typed error and the number of attempts (exactly one for writes)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests

from btcbot.arming import WriteToken
from btcbot.domain.orders import OrderIntent, OrderSide, client_order_id
from btcbot.errors import (
    AuthenticationError,
    ExchangeError,
    InsufficientFunds,
    OrderNotCancellable,
    OrderNotFound,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    RejectedByVenue,
    RequestNotSent,
    SymbolNotTradable,
    TransientError,
)
from btcbot.exchange.btcturk import BtcturkHttp


def _err(status: int, message: str | None, code: int | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": message, "code": code}
    body.update(extra)
    return {"status": status, "body": body}


# name -> (reply kwargs, error for reads, error for writes, retried for reads)
SCENARIOS: dict[str, tuple[dict[str, Any], type[ExchangeError], type[ExchangeError], bool]] = {
    "400 min total": (_err(400, "FAILED_MIN_TOTAL_AMOUNT", 1123), RejectedByVenue, RejectedByVenue, False),
    "400 price scale": (
        _err(400, "FAILED_INVALID_PRICE_SCALE", 1126, httpStatusCode=400, data=None),
        RejectedByVenue,
        RejectedByVenue,
        False,
    ),
    "400 balance": (_err(400, "BALANCE_NOT_ENOUGH", 1055), InsufficientFunds, InsufficientFunds, False),
    "400 open orders funds": (
        _err(400, "FAILED_ORDER_WITH_OPEN_ORDERS", 1122),
        InsufficientFunds,
        InsufficientFunds,
        False,
    ),
    "400 no order": (_err(400, "NO_ORDER_MATCHES_YOUR_REQUEST", 1051), OrderNotFound, OrderNotFound, False),
    "400 order not found": (_err(400, "Order not found", 1152), OrderNotFound, OrderNotFound, False),
    "400 not cancelable": (
        _err(400, "ORDER_COULD_NOT_BE_CANCELED", 1050),
        OrderNotCancellable,
        OrderNotCancellable,
        False,
    ),
    "400 unknown pair": (
        _err(400, "Pair NOPEUSDT does not exists.", 1037),
        SymbolNotTradable,
        SymbolNotTradable,
        False,
    ),
    "400 band": (_err(400, "PRICE_MUST_BE_LESS_THAN_MAXPRICE", 1226), RejectedByVenue, RejectedByVenue, False),
    "401 signature": (
        _err(401, "Unauthorized - Invalid Signature", 1037),
        AuthenticationError,
        AuthenticationError,
        False,
    ),
    "401 success true": (
        {"status": 401, "body": {"success": True, "message": "Unauthorized - Invalid Nonce", "code": 1037}},
        AuthenticationError,
        AuthenticationError,
        False,
    ),
    "403 ip not allowed": (_err(403, "Forbidden", None), AuthenticationError, AuthenticationError, False),
    "405": ({"status": 405, "body": None}, ProtocolError, ProtocolError, False),
    "422": (_err(422, "INVALID_REQUEST_ERROR", 1037), RejectedByVenue, RejectedByVenue, False),
    "429": (
        {**_err(429, "TOO_MANY_REQUESTS", 429, details="Quota exceeded."), "headers": {"Retry-After": "0"}},
        RateLimited,
        RateLimited,
        True,
    ),
    "500": (_err(500, "Internal", 500), TransientError, OutcomeUnknown, True),
    "502 empty": ({"status": 502, "body": None}, TransientError, OutcomeUnknown, True),
    "503": ({"status": 503, "body": None}, TransientError, OutcomeUnknown, True),
    "200 invalid json": ({"status": 200, "raw": b"<html>oops"}, ProtocolError, OutcomeUnknown, False),
    "200 success false": (
        {"status": 200, "body": {"success": False, "message": "FAILED_LIMIT_ORDER", "code": 1120}},
        RejectedByVenue,
        RejectedByVenue,
        False,
    ),
    "timeout after send": ({"delay_s": 3.0, "status": 200, "raw": b"{}"}, TransientError, OutcomeUnknown, True),
    "dropped response": ({"drop": True}, TransientError, OutcomeUnknown, True),
    "connection reset": ({"reset": True}, TransientError, OutcomeUnknown, True),
}

INTENT = OrderIntent(
    symbol="BTCTRY",
    side=OrderSide.BUY,
    price=Decimal("3003290"),
    quantity=Decimal("0.00005"),
    client_order_id=client_order_id("test", "decision-1"),
)

Call = Callable[[BtcturkHttp, WriteToken, WriteToken], object]
METHODS: dict[str, tuple[Call, bool]] = {
    "server_time": (lambda h, s, c: h.server_time_ms(), False),
    "exchange_info": (lambda h, s, c: h.exchange_info(), False),
    "ticker": (lambda h, s, c: h.ticker("BTCTRY"), False),
    "order_book": (lambda h, s, c: h.order_book("BTCTRY"), False),
    "balances": (lambda h, s, c: h.balances(), False),
    "open_orders": (lambda h, s, c: h.open_orders("BTCTRY"), False),
    "all_orders": (lambda h, s, c: h.all_orders("BTCTRY"), False),
    "get_order": (lambda h, s, c: h.get_order(61912740), False),
    "user_trades": (lambda h, s, c: h.user_trades("BTCTRY"), False),
    "submit_order": (lambda h, s, c: h.submit_order(INTENT, s), True),
    "cancel_order": (lambda h, s, c: h.cancel_order(21770789256, c), True),
}


def _expected(scenario: str, method: str) -> tuple[type[ExchangeError], int]:
    _reply, read_err, write_err, retried = SCENARIOS[scenario]
    write = METHODS[method][1]
    if write:
        return write_err, 1
    if method == "server_time" and scenario == "200 success false":
        return ProtocolError, 1  # no envelope on server/time: a body without serverTime is a shape error
    return read_err, 3 if retried else 1


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_error_table(scenario: str, method: str, shared_venue: Any, make_http: Any, fx: Any, gate: Any) -> None:
    spec = dict(SCENARIOS[scenario][0])
    raw = spec.pop("raw", None)
    body = spec.pop("body", None)
    payload = raw if raw is not None else (fx.json_body(body) if body is not None else b"")
    shared_venue.script = lambda req: fx.Reply(body=payload, **spec)
    # Only the late reply must time out, and it comes long after the short timeout; every other reply must arrive
    # within the timeout however loaded the machine, so it gets the fixture's generous one.
    http = make_http(shared_venue.url, **({"read_timeout_s": 0.1} if "delay_s" in spec else {}))
    call, _write = METHODS[method]
    expected_type, attempts = _expected(scenario, method)
    with pytest.raises(ExchangeError) as info:
        call(http, gate.submit_token(), gate.cancel_token())
    assert type(info.value) is expected_type, f"{scenario}/{method}: {info.value!r}"
    assert len(http.sent) == attempts
    text = str(info.value) + repr(info.value)
    assert fx.API_KEY not in text and fx.API_SECRET not in text


@pytest.mark.parametrize("method", sorted(METHODS))
def test_connection_refused_is_proof_nothing_was_sent(method: str, make_http: Any, fx: Any, gate: Any) -> None:
    http = make_http(fx.closed_port_url())
    call, write = METHODS[method]
    with pytest.raises(TransientError) as info:  # reads retry it like any transient failure
        call(http, gate.submit_token(), gate.cancel_token())
    assert type(info.value) is RequestNotSent  # not OutcomeUnknown: nothing can have reached the venue
    assert "nothing was sent" in str(info.value)
    assert len(http.sent) == (1 if write else 3)


def test_404_on_get_order_is_order_not_found(venue: Any, make_http: Any, fx: Any) -> None:
    venue.script = lambda req: fx.Reply(status=404)
    with pytest.raises(OrderNotFound):
        make_http(venue.url).get_order(5)
    with pytest.raises(ProtocolError):
        make_http(venue.url).balances()


class _RaisingAdapter(requests.adapters.BaseAdapter):
    """A transport that fails the way urllib3 reports a connect timeout (nothing sent) or a read timeout."""

    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc
        self.calls = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise self.exc

    def close(self) -> None:
        return None


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize(
    ("exc", "read_err", "write_err"),
    [
        # A connect timeout is no proof the request never left (see http._connect_failure): a write is unknown.
        (requests.exceptions.ConnectTimeout("connect timed out"), TransientError, OutcomeUnknown),
        (requests.exceptions.ReadTimeout("read timed out"), TransientError, OutcomeUnknown),
        (requests.exceptions.ChunkedEncodingError("body cut"), TransientError, OutcomeUnknown),
    ],
    ids=["connect-timeout-before-send", "read-timeout-after-send", "body-cut-after-send"],
)
def test_timeouts_before_and_after_send(
    method: str, exc: Exception, read_err: type, write_err: type, make_http: Any, gate: Any
) -> None:
    http = make_http("http://btcturk.invalid")
    adapter = _RaisingAdapter(exc)
    http._session.mount("http://", adapter)
    call, write = METHODS[method]
    with pytest.raises(ExchangeError) as info:
        call(http, gate.submit_token(), gate.cancel_token())
    assert type(info.value) is (write_err if write else read_err)
    assert adapter.calls == (1 if write else 3)
