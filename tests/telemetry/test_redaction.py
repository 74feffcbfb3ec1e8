"""The redactor's reach (every written form of a secret, header-shaped values) and what a span keeps of an
exception (its type, and our own message only: never a foreign message, never a traceback)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import pytest
import requests
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

from btcbot.errors import RejectedByVenue, TransientError
from btcbot.settings import load_settings
from btcbot.telemetry import tracing
from btcbot.telemetry.redact import (
    REDACTED,
    RedactingSpanExporter,
    Redactor,
    otlp_header_names,
    secrets_of,
    written_forms,
)
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


def test_the_written_forms_of_a_secret_exactly() -> None:
    assert written_forms("a/b+c é\x01\n") == {
        "a/b+c é\x01\n",
        "a/b+c é\\x01\\n",  # repr
        "a%2Fb%2Bc%20%C3%A9%01%0A",  # a URL path or query (quote: even "/" is encoded)
        "a%2Fb%2Bc+%C3%A9%01%0A",  # a form body (quote_plus)
        "a/b+c \\u00e9\\u0001\\n",  # JSON, ASCII-escaped
        "a/b+c é\\u0001\\n",  # JSON as written by ensure_ascii=False
        "a/b+c é\x01",  # ... and each of those for the stripped secret
        "a/b+c é\\x01",
        "a%2Fb%2Bc%20%C3%A9%01",
        "a%2Fb%2Bc+%C3%A9%01",
        "a/b+c \\u00e9\\u0001",
        "a/b+c é\\u0001",
    }


def test_a_base64_secret_is_scrubbed_percent_encoded() -> None:
    secret = "AbC/dEf+GhI="
    assert Redactor([secret])(f"GET /x?s={quote(secret, safe='')}") == f"GET /x?s={REDACTED}"


def test_four_characters_are_removed_anywhere_three_are_not_searched() -> None:
    assert Redactor(["abcd"])("x abcd y xabcdy") == f"x {REDACTED} y x{REDACTED}y"
    assert Redactor(["abc"])("x abc y xabcy") == "x abc y xabcy"
    assert Redactor(["", "abcd"])("abcd") == REDACTED


def test_the_longest_secret_goes_first_whatever_its_spelling() -> None:
    assert Redactor(["zzzz9", "aazzzz9bb"])("x aazzzz9bb y") == f"x {REDACTED} y"


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("Authorization: Bearer tok-1234", f"Authorization: {REDACTED}"),
        ("x-pck=key1 rest", f"x-pck={REDACTED} rest"),
        ('{"X-Stamp": "17"}', f'{{"X-Stamp": "{REDACTED}"}}'),
    ],
)
def test_header_shaped_values_are_replaced_and_the_name_kept(text: str, out: str) -> None:
    assert Redactor([])(text) == out


def test_the_secrets_of_the_settings_include_each_otlp_header_value() -> None:
    settings = load_settings(
        btcturk_api_key="key-1234",
        btcturk_api_secret="c2VjcmV0",
        otel_exporter_otlp_headers="Authorization=Basic dXNlcjpwYXNz==, x-tenant = t-42",
    )
    assert secrets_of(settings) == [
        "key-1234",
        "c2VjcmV0",
        "Authorization=Basic dXNlcjpwYXNz==, x-tenant = t-42",
        "Basic dXNlcjpwYXNz==",
        "dXNlcjpwYXNz==",  # the credential alone, as an error message may quote it
        "t-42",
    ]
    assert secrets_of(load_settings()) == []


class RecordingExporter(SpanExporter):
    def __init__(self) -> None:
        self.exported: list[ReadableSpan] = []
        self.calls: list[object] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.calls.append("shutdown")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.calls.append(timeout_millis)
        return False


SECRET = "sk-7781-distinctive"


def span(*, name: str = "op", description: str | None = "ok", attrs: Any = None, events: Any = ()) -> ReadableSpan:
    return ReadableSpan(
        name=name,
        context=SpanContext(0xABC, 0xDEF, is_remote=False),
        parent=SpanContext(0xABC, 0x123, is_remote=False),
        resource=Resource.create({"service.name": "btcbot"}),
        attributes=attrs,
        events=list(events),
        links=(Link(SpanContext(0xABC, 0x456, is_remote=False)),),
        kind=SpanKind.CLIENT,
        status=Status(StatusCode.ERROR, description) if description else Status(StatusCode.UNSET),
        start_time=10,
        end_time=20,
        instrumentation_scope=InstrumentationScope("btcbot"),
    )


def exported(s: ReadableSpan) -> ReadableSpan:
    inner = RecordingExporter()
    assert RedactingSpanExporter(inner, Redactor([SECRET])).export([s]) is SpanExportResult.SUCCESS
    (out,) = inner.exported
    return out


def test_a_clean_span_is_exported_as_it_is() -> None:
    s = span(attrs={"k": "v", "n": 1, "t": ("a", 2)}, events=[Event("e", {"x": "y"}, 5)])
    assert exported(s) is s
    assert exported(span(attrs=None, description=None)) is not None


@pytest.mark.parametrize(
    "where",
    ["name", "description", "attr_key", "attr_value", "attr_tuple", "event_name", "event_attr", "event_tuple"],
)
def test_a_secret_anywhere_in_a_span_is_scrubbed_and_the_rest_kept(where: str) -> None:
    def text(here: str) -> str:
        return f"v {SECRET}" if where == here else "v"

    original = span(
        name=text("name"),
        description=text("description"),
        attrs={text("attr_key"): text("attr_value"), "t": ("a", text("attr_tuple"), 3), "n": 7},
        events=[Event(text("event_name"), {"x": text("event_attr"), "u": [text("event_tuple")]}, 5)],
    )
    out = exported(original)
    assert out is not original
    scrubbed = f"v {REDACTED}"

    def clean(here: str) -> str:
        return scrubbed if where == here else "v"

    assert out.name == clean("name")
    assert (out.status.status_code, out.status.description) == (StatusCode.ERROR, clean("description"))
    assert dict(out.attributes or {}) == {
        clean("attr_key"): clean("attr_value"),
        "t": ("a", clean("attr_tuple"), 3),
        "n": 7,
    }
    (event,) = out.events
    assert (event.name, dict(event.attributes or {}), event.timestamp) == (
        clean("event_name"),
        {"x": clean("event_attr"), "u": (clean("event_tuple"),)},
        5,
    )
    for field in ("context", "parent", "resource", "links", "kind", "start_time", "end_time", "instrumentation_scope"):
        assert getattr(out, field) == getattr(original, field), field


def test_a_scrubbed_span_without_a_status_text_keeps_its_status() -> None:
    out = exported(span(name=SECRET, description=None))
    assert out.name == REDACTED and out.status.status_code is StatusCode.UNSET and out.status.description is None


def test_the_wrapper_passes_flush_and_shutdown_through() -> None:
    inner = RecordingExporter()
    wrapper = RedactingSpanExporter(inner, Redactor([]))
    assert wrapper.inner is inner
    assert wrapper.force_flush(1234) is False
    wrapper.force_flush()
    wrapper.shutdown()
    assert inner.calls == [1234, 30000, "shutdown"]


def test_a_short_value_is_not_searched_for_as_text() -> None:
    # Scrubbing "1" or "on" everywhere would make the summary lie (exit_code=[REDACTED]); a 1-3 character value
    # is no secret worth that. After its header's name it is still removed (below).
    redact = Redactor(["1", "on", "zq7"], header_names=["x-scope"])
    line = "exit_code=1 safe_mode=on monkey zq7"
    assert redact(line) == line
    assert redact("x-scope: 1, 'x-scope': 'on', X-Scope=zq7") == (
        f"x-scope: {REDACTED}, 'x-scope': '{REDACTED}', X-Scope={REDACTED}"
    )


def test_a_short_otlp_header_value_never_reaches_a_log_line() -> None:
    settings = load_settings(otel_exporter_otlp_headers="x-api-key=zq7,authorization=Bearer%20long-token-zq84")
    redact = Redactor.for_settings(settings)
    # As sent (percent-decoded), and the bare token after its scheme, as an error message may quote them; the
    # 3-character value after its header's name.
    line = redact("collector refused x-api-key: zq7, 'Bearer long-token-zq84' and token long-token-zq84")
    assert "zq7" not in line and "zq84" not in line
    assert Redactor.for_settings(settings)("headers {'x-api-key': 'zq7'}") == f"headers {{'x-api-key': '{REDACTED}'}}"


def test_every_otlp_header_name_counts_even_when_its_value_holds_an_equals_sign() -> None:
    # Base64 padding puts '=' in a value; the name is what comes before the first one.
    settings = load_settings(otel_exporter_otlp_headers="x-tenant=ab=,x-scope=q9")
    assert otlp_header_names(settings) == ["x-tenant", "x-scope"]
    redact = Redactor.for_settings(settings)
    assert redact("sent x-tenant: ab= and X-Scope=q9") == f"sent x-tenant: {REDACTED} and X-Scope={REDACTED}"
    assert otlp_header_names(load_settings()) == []
