"""Second line of defence against secrets in telemetry: text scrubbing for logs and span exports.

Code must never put a secret into a log line or span in the first place; this catches the mistakes (an
exception message that quoted a header, a careless f-string) before anything leaves the process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus, unquote

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from btcbot.settings import Settings

REDACTED = "[REDACTED]"
# Shorter values are not searched for as text: "on", "1" or "TRY" would be scrubbed out of every summary line
# (exit_code=1 shown as exit_code=[REDACTED]). They are still removed after their header's name.
_SHORT = 4

# Header-shaped secrets, whatever their source: "X-PCK: abc", "'X-Signature': 'abc'", "x-pck=abc", and the same
# inside a JSON string (\"X-PCK\": \"abc\"). An auth scheme word (Bearer) is taken with its value; nothing else
# is, so "X-Stamp: 1 X-Signature: abc" cannot hide the signature behind the stamp's match.
_Q = r"""(?:\\?["'])?"""
_AUTH_HEADERS = ("x-pck", "x-signature", "x-stamp", "authorization")


def _header_value(names: Iterable[str]) -> re.Pattern[str]:
    # Any order: the ``[:=]`` after the name makes the regex backtrack to the whole name.
    alternatives = "|".join(re.escape(n) for n in sorted(set(names)))
    return re.compile(
        rf"""(?i)({_Q}(?:{alternatives}){_Q}\s*[:=]\s*{_Q})"""
        r"""((?:(?:bearer|basic|token)\s+)?[^"',\s}\\]+)"""
    )


def written_forms(secret: str) -> set[str]:
    """The ways a secret shows up in text: as is, stripped (``KEY\\n`` once trimmed), escaped by ``repr`` (an
    exception message quoting a header value), escaped by JSON, and percent-encoded (a URL or a form body).
    """
    out: set[str] = set()
    for form in {secret, secret.strip()}:
        out |= {form, repr(form)[1:-1], quote(form, safe=""), quote_plus(form, safe="")}
        out |= {json.dumps(form)[1:-1], json.dumps(form, ensure_ascii=False)[1:-1]}
    return out


class Redactor:
    """Replaces the known secret strings (in every written form) and header-shaped values in text."""

    def __init__(self, secrets: Iterable[str], header_names: Iterable[str] = ()) -> None:
        forms = {form for s in secrets if s for form in written_forms(s)}
        # Longest first so a secret containing another is removed whole.
        self._secrets = sorted({f for f in forms if len(f) >= _SHORT}, key=len, reverse=True)
        self._headers = _header_value((*_AUTH_HEADERS, *(n.strip() for n in header_names if n.strip())))

    @classmethod
    def for_settings(cls, settings: Settings) -> Redactor:
        """This configuration's secrets, and its OTLP headers' names (whose values may be too short to search)."""
        return cls(secrets_of(settings), otlp_header_names(settings))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if self._headers.search(text):
            text = self._headers.sub(lambda m: m.group(1) + REDACTED, text)
        return text


def otlp_header_names(settings: Settings) -> list[str]:
    """The names in OTEL_EXPORTER_OTLP_HEADERS (``name=value,...``): their values are secrets of any length."""
    if settings.otel_exporter_otlp_headers is None:
        return []
    raw = settings.otel_exporter_otlp_headers.get_secret_value()
    return [part.partition("=")[0].strip() for part in raw.split(",") if "=" in part]


def secrets_of(settings: Settings) -> list[str]:
    """The configured secret strings: API key and secret, OTLP headers (whole, each value as written and as sent,
    and the credential after an auth scheme such as ``Bearer``)."""
    out: list[str] = []
    for secret in (settings.btcturk_api_key, settings.btcturk_api_secret):
        if secret is not None:
            out.append(secret.get_secret_value())
    if settings.otel_exporter_otlp_headers is not None:
        raw = settings.otel_exporter_otlp_headers.get_secret_value()
        out.append(raw)
        for part in raw.split(","):
            written = part.partition("=")[2].strip()
            sent = unquote(written)  # OTEL_EXPORTER_OTLP_HEADERS values are percent-encoded; this is what is sent
            out.extend(dict.fromkeys([written, sent, *sent.split()[-1:]]))
    return out


def _scrub_value(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (tuple, list)):
        return tuple(_scrub_value(v, redact) for v in value)
    return value


def _scrub_attrs(attrs: Mapping[str, Any] | None, redact: Redactor) -> dict[str, Any]:
    return {redact(k): _scrub_value(v, redact) for k, v in (attrs or {}).items()}


class RedactingSpanExporter(SpanExporter):
    """Wraps an exporter; spans whose text carries a secret are exported as scrubbed copies.

    Runs on the batch processor's worker thread, so the scan costs the cycle nothing.
    """

    def __init__(self, inner: SpanExporter, redactor: Redactor) -> None:
        self._inner = inner
        self._redact = redactor

    @property
    def inner(self) -> SpanExporter:
        return self._inner

    def _texts(self, span: ReadableSpan) -> Iterable[str]:
        yield span.name
        if span.status.description:
            yield span.status.description
        yield from (e.name for e in span.events)
        for attrs in [span.attributes or {}, *((e.attributes or {}) for e in span.events)]:
            for k, v in attrs.items():
                yield k
                if isinstance(v, str):
                    yield v
                elif isinstance(v, (tuple, list)):
                    yield from (x for x in v if isinstance(x, str))

    def _clean(self, span: ReadableSpan) -> ReadableSpan:
        # One scan over all the span's text: the common case (nothing to scrub) costs a single pass.
        blob = "\n".join(self._texts(span))
        if self._redact(blob) == blob:
            return span
        redact = self._redact
        status = span.status
        if status.description:
            status = Status(status.status_code, redact(status.description))
        return ReadableSpan(
            name=redact(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=_scrub_attrs(span.attributes, redact),
            events=[Event(redact(e.name), _scrub_attrs(e.attributes, redact), e.timestamp) for e in span.events],
            links=span.links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([self._clean(s) for s in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
