"""Error translation as pure functions: each HTTP status and venue message to its typed error, the 2xx envelope's
failure signals, and the venue's back-off. (test_error_translation.py drives the same rules through the client.)"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

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
    SymbolNotTradable,
    TransientError,
)
from btcbot.exchange.btcturk import translate
from btcbot.exchange.btcturk.translate import (
    MAX_RETRY_AFTER_S,
    MAX_VENUE_MESSAGE_CHARS,
    error_for_status,
    is_price_band_rejection,
    parse_json,
    retry_after_seconds,
    unwrap_envelope,
)

ORDER_ROUTE = "/api/v1/order/{orderId}"


def keep(text: str) -> str:
    return text


def body(message: object = None, code: object = None, **extra: Any) -> bytes:
    return json.dumps({"success": False, "message": message, "code": code, **extra}).encode()


def translated(
    status: int,
    raw: bytes = b"",
    *,
    write: bool = False,
    route: str = "/api/v1/order",
    retry_after: str | None = None,
) -> ExchangeError:
    return error_for_status(
        status, raw, what="submit order", route=route, retry_after_header=retry_after, write=write, redact=keep
    )


def fields(err: ExchangeError) -> tuple[type[ExchangeError], int | None, int | None, str | None]:
    return type(err), err.http_status, err.venue_code, err.venue_message


class TestStatus:
    @pytest.mark.parametrize("status", [401, 403])
    def test_authentication_refusals(self, status: int) -> None:
        err = translated(status, body("Unauthorized - Invalid Nonce", 1037))
        assert fields(err) == (AuthenticationError, status, 1037, "Unauthorized - Invalid Nonce")
        assert str(err) == (
            f"submit order: BTCTurk refused authentication (HTTP {status}: Unauthorized - Invalid Nonce (code 1037)); "
            "check BTCTURK_API_KEY/BTCTURK_API_SECRET, the key's permissions and IP allow-list, and the local clock "
            "(doctor)"
        )

    def test_rate_limit_carries_the_back_off(self) -> None:
        err = translated(429, body("TOO_MANY_REQUESTS", 429), retry_after="7")
        assert isinstance(err, RateLimited) and err.retry_after_s == 7.0
        assert fields(err) == (RateLimited, 429, 429, "TOO_MANY_REQUESTS")
        assert str(err) == "submit order: BTCTurk rate limit hit (HTTP 429: TOO_MANY_REQUESTS (code 429)); back off 7s"

    def test_rate_limit_back_off_from_the_body_when_no_header(self) -> None:
        err = translated(429, body("TOO_MANY_REQUESTS", 429, details="Try again in 12 seconds."))
        assert isinstance(err, RateLimited) and err.retry_after_s == 12.0

    @pytest.mark.parametrize("status", [500, 502, 599])
    def test_a_5xx_write_is_an_unknown_outcome_and_a_read_is_transient(self, status: int) -> None:
        err = translated(status, write=True)
        assert fields(err) == (OutcomeUnknown, status, None, None)
        assert str(err) == (
            f"submit order: BTCTurk answered HTTP {status}; the request may or may not have taken effect — "
            "reconcile by client order id before doing anything else"
        )
        read = translated(status, write=False)
        assert fields(read) == (TransientError, status, None, None)
        assert str(read) == f"submit order: BTCTurk answered HTTP {status} (no venue message); temporary, retry later"

    def test_499_is_not_a_server_error(self) -> None:
        assert type(translated(499, write=True)) is ProtocolError

    def test_404_means_an_unknown_order_only_on_the_order_route(self) -> None:
        err = translated(404, route=ORDER_ROUTE)
        assert fields(err) == (OrderNotFound, 404, None, None)
        assert str(err) == "submit order: BTCTurk does not know this order (HTTP 404)"
        other = translated(404, body("Not Found", 7), route="/api/v1/openOrders")
        assert fields(other) == (ProtocolError, 404, 7, "Not Found")
        assert str(other) == (
            "submit order: unexpected HTTP 404 from BTCTurk for /api/v1/openOrders (Not Found (code 7)); "
            "check BTCTURK_BASE_URL"
        )

    @pytest.mark.parametrize("status", [400, 422])
    @pytest.mark.parametrize(
        ("message", "code", "kind"),
        [
            ("BALANCE_NOT_ENOUGH", 1055, InsufficientFunds),
            ("balance_not_enough", 1055, InsufficientFunds),
            ("FAILED_ORDER_WITH_OPEN_ORDERS", 1122, InsufficientFunds),
            ("NO_ORDER_MATCHES_YOUR_REQUEST", 1, OrderNotFound),
            ("Order not found", 1, OrderNotFound),
            ("something else", 1051, OrderNotFound),
            ("something else", 1052, OrderNotFound),
            ("something else", 1152, OrderNotFound),
            ("ORDER_COULD_NOT_BE_CANCELED", 1, OrderNotCancellable),  # by its documented name
            ("something else", 1050, OrderNotCancellable),  # by its captured code
            ("Pair NOPEUSDT does not exists.", 1037, SymbolNotTradable),
            ("FAILED_MIN_TOTAL_AMOUNT", 1123, RejectedByVenue),
        ],
    )
    def test_a_refusal_by_its_message_or_code(self, status: int, message: str, code: int, kind: type) -> None:
        err = translated(status, body(message, code))
        assert fields(err) == (kind, status, code, message)

    def test_refusal_messages_say_what_to_do(self) -> None:
        assert str(translated(400, body("BALANCE_NOT_ENOUGH", 1055))) == (
            "submit order: rejected for insufficient funds: BALANCE_NOT_ENOUGH (code 1055)"
        )
        assert str(translated(400, body("NO_ORDER_MATCHES_YOUR_REQUEST", 1051))) == (
            "submit order: BTCTurk does not know this order: NO_ORDER_MATCHES_YOUR_REQUEST (code 1051)"
        )
        assert str(translated(400, body("ORDER_COULD_NOT_BE_CANCELED", 1050))) == (
            "submit order: BTCTurk has closed this order (filled), nothing to cancel: "
            "ORDER_COULD_NOT_BE_CANCELED (code 1050)"
        )
        assert str(translated(400, body("Pair X does not exist", 1))) == (
            "submit order: Pair X does not exist; check UNIVERSE_SYMBOLS against exchangeinfo"
        )
        assert str(translated(400, body("FAILED_MIN_TOTAL_AMOUNT", 1123))) == (
            "submit order: rejected by BTCTurk: FAILED_MIN_TOTAL_AMOUNT (code 1123)"
        )
        assert str(translated(400, body(None, 1123))) == "submit order: rejected by BTCTurk: None (code 1123)"
        assert str(translated(400, body("X", None))) == "submit order: rejected by BTCTurk: X (code None)"
        assert str(translated(400, b"")) == "submit order: rejected by BTCTurk: no venue message"

    @pytest.mark.parametrize("raw", [b"", b"<html>bad gateway</html>", b"[1, 2]", b'"text"'])
    def test_a_body_without_venue_fields_still_translates(self, raw: bytes) -> None:
        assert fields(translated(400, raw)) == (RejectedByVenue, 400, None, None)

    def test_the_venue_text_is_redacted_then_cut(self) -> None:
        long = "SECRET" + "x" * 300
        err = error_for_status(
            400,
            body(long, 1),
            what="w",
            route="/r",
            retry_after_header=None,
            write=True,
            redact=lambda t: t.replace("SECRET", "[R]"),
        )
        assert err.venue_message == ("[R]" + "x" * 300)[:MAX_VENUE_MESSAGE_CHARS]
        assert len(err.venue_message) == MAX_VENUE_MESSAGE_CHARS == 200


class TestVenueCode:
    @pytest.mark.parametrize(
        ("code", "expected"),
        [
            *[(1123, 1123), ("1123", 1123), (" 1123 ", 1123), ("-5", -5), (0, 0), (True, None), (False, None)],
            *[("abc", None), ("X1", None), ("1.5", None), (1.5, None), (None, None), ([1], None)],
        ],
    )
    def test_code_forms(self, code: object, expected: int | None) -> None:
        assert translated(400, body("m", code)).venue_code == expected

    def test_a_non_text_message_is_shown_as_text(self) -> None:
        assert translated(400, body(42, 1)).venue_message == "42"


class TestEnvelope:
    @pytest.mark.parametrize(
        "payload",
        [
            {"success": True, "code": 0, "data": [1]},
            {"success": True, "code": "0", "data": [1]},
            {"success": True, "code": "SUCCESS", "data": [1]},
            {"success": True, "code": None, "data": [1]},
            {"success": True, "data": [1]},
            {"data": [1]},
        ],
    )
    def test_success_yields_the_data(self, payload: dict[str, Any]) -> None:
        assert unwrap_envelope(payload, what="w", status=200, redact=keep) == [1]

    @pytest.mark.parametrize(
        ("payload", "code"),
        [
            ({"success": False, "code": 0, "message": "FAILED", "data": [1]}, 0),
            ({"success": False, "data": [1]}, None),
            ({"success": True, "code": 1120, "message": "FAILED_LIMIT_ORDER", "data": [1]}, 1120),
            ({"success": True, "code": "1120", "message": "FAILED_LIMIT_ORDER", "data": [1]}, 1120),
            ({"code": -1, "data": [1]}, -1),
            ({"success": True, "code": "FAILED", "data": [1]}, None),
        ],
    )
    def test_a_2xx_reporting_failure_is_a_venue_rejection(self, payload: dict[str, Any], code: int | None) -> None:
        with pytest.raises(RejectedByVenue) as info:
            unwrap_envelope(payload, what="submit order", status=200, redact=keep)
        err = info.value
        assert type(err) is RejectedByVenue and (err.http_status, err.venue_code) == (200, code)
        assert err.venue_message == payload.get("message")
        shown = f"{payload.get('message')} (code {code})"
        assert str(err) == f"submit order: BTCTurk answered HTTP 200 but reported failure: {shown}"

    @pytest.mark.parametrize("payload", [None, [], "ok", 1])
    def test_a_non_object_is_a_protocol_error(self, payload: object) -> None:
        with pytest.raises(ProtocolError) as info:
            unwrap_envelope(payload, what="balances", status=201, redact=keep)
        assert info.value.http_status == 201
        assert str(info.value) == "balances: expected a JSON object envelope from BTCTurk"


class FakeTime:
    @staticmethod
    def time() -> float:
        return 1_700_000_000.0


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("5", 5.0),
            (" 2.5 ", 2.5),
            ("0", 0.0),
            ("-3", 0.0),
            ("60", 60.0),
            ("61", MAX_RETRY_AFTER_S),
            ("inf", MAX_RETRY_AFTER_S),
            ("nan", MAX_RETRY_AFTER_S),
        ],
    )
    def test_seconds(self, header: str, expected: float) -> None:
        assert retry_after_seconds(header, None) == expected

    def test_an_http_date_counts_from_now(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(translate, "time", FakeTime)
        assert retry_after_seconds("Tue, 14 Nov 2023 22:13:40 GMT", None) == 20.0  # now is 22:13:20
        assert retry_after_seconds("Tue, 14 Nov 2023 22:13:00 GMT", None) == 0.0  # already past

    @pytest.mark.parametrize("header", [None, "", "   ", "soon", "Tue, 99 Nov 2023 25:61:00 GMT"])
    def test_an_unusable_header_falls_back_to_the_body_then_the_default(self, header: str | None) -> None:
        assert retry_after_seconds(header, {"details": "Try again in 9 seconds"}) == 9.0
        assert retry_after_seconds(header, {"details": "slow down"}) == 1.0
        assert retry_after_seconds(header, ["Try again in 9 seconds"]) == 1.0
        assert retry_after_seconds(header, None, default_s=2.5) == 2.5

    def test_the_body_back_off_is_capped_too(self) -> None:
        assert retry_after_seconds(None, {"details": "try again in 600 seconds"}) == MAX_RETRY_AFTER_S


class TestPriceBand:
    @pytest.mark.parametrize(
        "err",
        [
            RejectedByVenue("x", venue_message="ORDER_MIN_PRICE_EXCEEDED"),
            RejectedByVenue("x", venue_message="order_max_price_exceeded"),
            RejectedByVenue("x", venue_message="PRICE_MUST_BE_LESS_THAN_MAXPRICE"),
            RejectedByVenue("x", venue_message="PRICE_MUST_BE_LESS_THAN_MINPRICE"),
            RejectedByVenue("x", venue_code=1226),
            RejectedByVenue("x", venue_code=1227),
            InsufficientFunds("x", venue_code=1226),
        ],
    )
    def test_band_rejections(self, err: ExchangeError) -> None:
        assert is_price_band_rejection(err)

    @pytest.mark.parametrize(
        "err",
        [
            RejectedByVenue("x"),
            RejectedByVenue("x", venue_message="FAILED_MIN_TOTAL_AMOUNT", venue_code=1123),
            ProtocolError("x", venue_message="ORDER_MIN_PRICE_EXCEEDED", venue_code=1226),
        ],
    )
    def test_other_errors_are_not(self, err: ExchangeError) -> None:
        assert not is_price_band_rejection(err)


def test_parse_json_keeps_numbers_exact() -> None:
    assert parse_json(b'{"p": 0.1, "n": 3}') == {"p": Decimal("0.1"), "n": 3}
    assert type(parse_json("[1]")[0]) is int
    with pytest.raises(ValueError) as info:
        parse_json("[" * 100_000 + "]" * 100_000)
    assert str(info.value) == "JSON nested too deeply"
