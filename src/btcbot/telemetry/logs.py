"""Structured logs: one JSON object a line on stderr, carrying the current trace and span ids.

Fields: ``ts`` (UTC, ISO-8601 with milliseconds), ``level``, ``logger``, ``message``, ``trace_id``, ``span_id``
(null outside a span), ``exc`` when an exception is attached, plus any JSON-simple ``extra=`` fields.

Redaction is a second line of defence (code must not log secrets in the first place): the configured API
key and secret, the OTLP header values, and anything shaped like an ``X-PCK``/``X-Signature``/``X-Stamp``
or ``Authorization`` header value are replaced by ``[REDACTED]`` in the message, the extras, the exception
text and, finally, the whole rendered line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from btcbot.settings import Settings

REDACTED = "[REDACTED]"
_HANDLER_MARK = "_btcbot_json_handler"

# Header-shaped secrets, whatever their source: "X-PCK: abc", "'X-Signature': 'abc'", "x-pck=abc".
_HEADER_VALUE = re.compile(
    r"""(?i)(["']?(?:x-pck|x-signature|x-stamp|authorization)["']?\s*[:=]\s*["']?)([^"',\s}]+(?:\s+[^"',\s}]+)?)"""
)
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime", "taskName"}
)


class Redactor:
    """Replaces known secret strings and header-shaped values in text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first so a secret containing another is removed whole; very short strings would shred logs.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if _HEADER_VALUE.search(text):
            text = _HEADER_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
        return text


def secrets_of(settings: Settings) -> list[str]:
    out: list[str] = []
    for secret in (settings.btcturk_api_key, settings.btcturk_api_secret):
        if secret is not None:
            out.append(secret.get_secret_value())
    if settings.otel_exporter_otlp_headers is not None:
        raw = settings.otel_exporter_otlp_headers.get_secret_value()
        out.append(raw)
        out.extend(part.partition("=")[2].strip() for part in raw.split(","))
    return out


class RedactionFilter(logging.Filter):
    """Scrubs a record in place (message, args, exception text, extras) before any handler formats it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self._redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        # The traceback is now text; dropping exc_info keeps formatters from re-rendering the raw one.
        record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self._redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        ctx = trace.get_current_span().get_span_context()
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": format(ctx.trace_id, "032x") if ctx.is_valid else None,
            "span_id": format(ctx.span_id, "016x") if ctx.is_valid else None,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc"] = record.exc_text
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in payload and isinstance(value, (str, int, float, bool)):
                payload[key] = value
        line = json.dumps(payload, ensure_ascii=False, default=str)
        return self._redact(line) if self._redact else line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (test capture, redirected streams)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(settings: Settings, *, stream_handler: logging.Handler | None = None) -> logging.Handler:
    """Route the root logger to JSON lines on stderr at LOG_LEVEL, redacting secrets. Safe to call again:
    the previous btcbot handler is replaced, other handlers are left alone. Returns the installed handler.
    """
    redactor = Redactor(secrets_of(settings))
    handler = stream_handler or _StderrHandler()
    handler.setFormatter(JsonFormatter(redactor))
    handler.addFilter(RedactionFilter(redactor))
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    level = logging.getLevelName(settings.log_level.value)
    root.setLevel(level)
    handler.setLevel(level)
    # Library chatter (urllib3 connection logs carry full URLs) stays at WARNING unless debugging.
    for noisy in ("urllib3", "opentelemetry"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    return handler
