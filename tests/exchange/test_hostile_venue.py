"""The adapter against a venue (or a proxy) that misbehaves on purpose: echoed credentials, absurd back-offs,
JSON nested too deep to decode, and write tokens used for what they were not minted for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from btcbot.domain.orders import OrderIntent, OrderSide, client_order_id
from btcbot.errors import ConfigError, NotArmedError, ProtocolError, RateLimited, RejectedByVenue, TransientError
from btcbot.exchange.btcturk import translate
from btcbot.exchange.btcturk.limiter import RateLimiter
from btcbot.exchange.btcturk.signing import Signer
from btcbot.telemetry.redact import written_forms

CID = client_order_id("unit", "hostile-1")
INTENT = OrderIntent("BTCTRY", OrderSide.BUY, Decimal("3003290"), Decimal("0.00005"), CID)
DEEP = b"[" * 100_000 + b"]" * 100_000


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _forms(*secrets: str) -> set[str]:
    return {form for s in secrets for form in written_forms(s) if len(form) >= 4}


def test_venue_text_echoing_our_headers_is_redacted_before_it_becomes_an_error(
    venue: Any, make_http: Any, fx: Any, gate: Any
) -> None:
    """A 400 whose message quotes every request header (as a misconfigured proxy does) must not carry the key."""

    def echo(req: Any) -> Any:
        headers = {k: v for k, v in req.headers.items() if k.lower().startswith("x-")}
        body = {"success": False, "message": f"bad request {headers}", "code": 1}
        return fx.Reply(status=400, body=fx.json_body(body))

    venue.script = echo
    http = make_http(venue.url)
    with pytest.raises(RejectedByVenue) as info:
        http.submit_order(INTENT, gate.submit_token())
    err = info.value
    assert venue.seen[0].headers["X-PCK"] == fx.API_KEY  # the venue did echo it
    text = f"{err} {err.venue_message}"
    assert "[REDACTED]" in text
    for form in _forms(fx.API_KEY, fx.API_SECRET):
        assert form not in text
    signature = venue.seen[0].headers["X-Signature"]
    assert signature not in text  # header-shaped values go too, though the signature is not a configured secret

    # The same echo inside a 2xx envelope that reports failure.
    venue.script = lambda req: fx.Reply(
        body=fx.json_body({"success": False, "message": f"X-PCK={req.headers['X-PCK']} refused", "code": 7})
    )
    with pytest.raises(RejectedByVenue) as info2:
        http.balances()
    assert fx.API_KEY not in str(info2.value) and fx.API_KEY not in (info2.value.venue_message or "")


def test_an_echoed_secret_is_redacted_before_the_message_is_cut(venue: Any, make_http: Any, fx: Any) -> None:
    """Cutting first would leave a prefix of the key that no longer matches, right at the cut."""
    cut = translate.MAX_VENUE_MESSAGE_CHARS
    message = "x" * (cut - 10) + fx.API_KEY
    venue.script = lambda req: fx.Reply(status=400, body=fx.json_body({"success": False, "message": message}))
    with pytest.raises(RejectedByVenue) as info:
        make_http(venue.url).balances()
    assert fx.API_KEY[:10] not in str(info.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("999999", 60.0), ("inf", 60.0), ("1e400", 60.0), ("nan", 60.0), ("-5", 0.0), ("2.5", 2.5), ("soon", 1.0)],
)
def test_retry_after_is_capped(header: str, expected: float) -> None:
    assert translate.retry_after_seconds(header, None) == expected


def test_retry_after_as_a_far_future_date_is_capped() -> None:
    assert translate.retry_after_seconds("Fri, 31 Dec 9999 23:59:59 GMT", None) == translate.MAX_RETRY_AFTER_S


def test_a_huge_retry_after_blocks_an_endpoint_for_at_most_the_cap(venue: Any, make_http: Any, fx: Any) -> None:
    clock = FakeMonotonic()
    http = make_http(venue.url, limiter=RateLimiter(monotonic=clock, sleep=lambda s: None))
    venue.script = lambda req: fx.Reply(status=429, body=b"{}", headers={"Retry-After": "86400000"})
    with pytest.raises(RateLimited) as info:
        http.open_orders()
    assert info.value.retry_after_s == translate.MAX_RETRY_AFTER_S
    venue.script = None
    clock.now += translate.MAX_RETRY_AFTER_S + 0.01
    http.open_orders()  # sent again once the cap has passed, not a day later


def test_venue_back_off_never_holds_up_a_kill_switch_cancel(venue: Any, make_http: Any, fx: Any) -> None:
    clock = FakeMonotonic()
    http = make_http(venue.url, limiter=RateLimiter(monotonic=clock, sleep=lambda s: None))
    gate = fx.armed_gate()
    venue.script = lambda req: fx.Reply(status=429, body=b"{}", headers={"Retry-After": "30"})
    with pytest.raises(RateLimited):
        http.cancel_order(1, gate.cancel_token())
    venue.script = None
    # An ordinary cancel waits out the venue's back-off without sending ...
    with pytest.raises(RateLimited, match="not sent"):
        http.cancel_order(2, gate.cancel_token())
    assert venue.count("DELETE") == 1
    # ... a protective cancel is sent regardless (the venue may still refuse it; we keep trying).
    http.cancel_order(3, gate.protective_cancel_token())
    assert venue.count("DELETE") == 2 and venue.seen[-1].query == {"id": ["3"]}


def test_a_protective_cancel_token_cannot_submit(venue: Any, make_http: Any, fx: Any) -> None:
    gate = fx.armed_gate()
    token = gate.protective_cancel_token()
    with pytest.raises(NotArmedError, match="protective_cancel token cannot submit"):
        token.check_at_send("submit")
    with pytest.raises(NotArmedError):
        make_http(venue.url).submit_order(INTENT, token)
    assert venue.count() == 0


@pytest.mark.parametrize("status", [200, 400, 503])
def test_json_nested_too_deep_is_a_protocol_error_not_a_crash(status: int, venue: Any, make_http: Any, fx: Any) -> None:
    venue.script = lambda req: fx.Reply(status=status, body=DEEP)
    http = make_http(venue.url)
    expected = {200: ProtocolError, 400: RejectedByVenue, 503: TransientError}[status]
    with pytest.raises(expected):
        http.open_orders()


def test_parse_json_reports_deep_nesting_as_value_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        translate.parse_json(DEEP)


def test_signer_refuses_a_key_that_cannot_be_a_header_without_echoing_it(fx: Any) -> None:
    for bad in (fx.API_KEY + "\n", fx.API_KEY + " ", "\t" + fx.API_KEY, fx.API_KEY[:5] + "\x00" + fx.API_KEY[5:]):
        with pytest.raises(ConfigError, match="BTCTURK_API_KEY: contains whitespace or a control character") as info:
            Signer(bad, fx.API_SECRET)
        assert fx.API_KEY[:8] not in str(info.value)


def test_a_foreign_exception_quoting_the_key_never_reaches_the_span_or_the_cause(
    venue: Any, make_http: Any, fx: Any
) -> None:
    """requests' InvalidHeader quotes the header value; the adapter must neither chain it nor let a span record it."""
    from btcbot.telemetry.setup import configure_for_tests

    leaked = fx.API_KEY + "\n"

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise requests.exceptions.InvalidHeader(
            f"Invalid leading whitespace, reserved character(s), or return character(s) in header value: {leaked!r}"
        )

    handle = configure_for_tests()
    try:
        http = make_http(venue.url)
        http._session.request = refuse
        with pytest.raises(TransientError) as info:
            http.balances()
        err = info.value
        assert err.__cause__ is None and err.__suppress_context__
        spans = handle.span_exporter.get_finished_spans()
        assert spans, "the call made no span: the test would prove nothing"
        dump = repr([(s.name, s.status.description, dict(s.attributes or {})) for s in spans])
        dump += repr([(e.name, dict(e.attributes or {})) for s in spans for e in s.events])
        for form in _forms(leaked):
            assert form not in dump
        assert "exception.stacktrace" not in dump and "Traceback" not in dump
        events = [e for s in spans for e in s.events if e.name == "exception"]
        assert events and all(e.attributes and e.attributes["exception.type"] == "TransientError" for e in events)
    finally:
        handle.shutdown()
