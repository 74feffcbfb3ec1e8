"""The redactor's reach (every written form of a secret, header-shaped values) and what a span keeps of an
exception (its type, and our own message only: never a foreign message, never a traceback)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests

from btcbot.errors import RejectedByVenue, TransientError
from btcbot.telemetry import tracing
from btcbot.telemetry.redact import REDACTED, Redactor
from btcbot.telemetry.setup import TelemetryHandle

KEY = "KEY-zq83-distinctive"
NL_KEY = KEY + "\n"  # as a secret created from a file arrives


@pytest.mark.parametrize(
    "text",
    [
        f"header value: {NL_KEY!r}",  # requests' InvalidHeader message
        f"header value: {KEY!r}",  # the stripped form
        json.dumps({"X-PCK": NL_KEY}),  # JSON-escaped
        f"GET /x?k={quote(NL_KEY, safe='')}",  # percent-encoded
        f"raw {NL_KEY} here",
    ],
)
def test_every_written_form_of_a_key_with_a_trailing_newline_is_scrubbed(text: str) -> None:
    out = Redactor([NL_KEY])(text)
    assert "zq83" not in out and REDACTED in out


def test_longer_secrets_go_first() -> None:
    short, long = "abcd1234", "abcd1234-and-more"
    assert Redactor([short, long])(f"{long} {short}") == f"{REDACTED} {REDACTED}"


@pytest.mark.parametrize(
    "text",
    [
        "X-Signature: c2lnbmF0dXJl+/=",
        "{'X-PCK': 'k', 'X-Stamp': '1700000000000', 'X-Signature': 'c2lnbmF0dXJl+/='}",
        '{"X-Signature": "c2lnbmF0dXJl+/="}',
        '{\\"X-Signature\\": \\"c2lnbmF0dXJl+/=\\"}',  # the same inside a JSON string
        "X-Stamp: 1700000000000 X-Signature: c2lnbmF0dXJl+/=",  # the stamp's match must not swallow the name
        "x-signature=c2lnbmF0dXJl+/=",
    ],
)
def test_signature_header_values_are_scrubbed(text: str) -> None:
    assert "c2lnbmF0dXJl" not in Redactor([])(text)


def test_ordinary_text_is_left_alone() -> None:
    text = "authorization failed for BTCTRY; retry in 5 s (X-Stamp drift)"
    assert Redactor([KEY])(text) == text


def test_a_span_records_the_type_and_our_message_never_a_foreign_one(telemetry: TelemetryHandle) -> None:
    with pytest.raises(TransientError), tracing.start_span("GET /api/v1/users/balances"):
        try:
            raise requests.exceptions.InvalidHeader(f"header value: {NL_KEY!r}")
        except requests.exceptions.InvalidHeader as exc:
            raise TransientError("balances: no answer from BTCTurk (InvalidHeader)") from exc
    with pytest.raises(requests.exceptions.InvalidHeader), tracing.start_span("foreign"):
        raise requests.exceptions.InvalidHeader(f"header value: {NL_KEY!r}")
    ours, foreign = telemetry.span_exporter.get_finished_spans()
    for span in (ours, foreign):
        events = [dict(e.attributes or {}) for e in span.events]
        text = repr((span.status.description, dict(span.attributes or {}), events))
        assert "zq83" not in text and "stacktrace" not in text and "Traceback" not in text
    (event,) = ours.events
    assert event.attributes == {
        "exception.type": "TransientError",
        "exception.message": "balances: no answer from BTCTurk (InvalidHeader)",
    }
    assert ours.status.description == "TransientError: balances: no answer from BTCTurk (InvalidHeader)"
    (event,) = foreign.events
    assert event.attributes == {"exception.type": "InvalidHeader"}
    assert foreign.status.description == "InvalidHeader"


def test_a_span_keeps_a_status_set_on_purpose_until_an_exception_escapes(telemetry: TelemetryHandle) -> None:
    with tracing.start_span("order_submit") as span:
        tracing.set_error(span, "rejected")
    with pytest.raises(RejectedByVenue), tracing.start_span("POST /api/v1/order"):
        raise RejectedByVenue("submit order: rejected by BTCTurk: FAILED_MIN_TOTAL_AMOUNT (code 1123)")
    quiet, raised = telemetry.span_exporter.get_finished_spans()
    assert quiet.status.description == "rejected" and not quiet.events
    assert raised.status.description is not None and "FAILED_MIN_TOTAL_AMOUNT" in raised.status.description
