"""Structured logs: one JSON object a line on stderr (and, for the runtime, in LOG_FILE), with trace and span ids.

Fields: ``ts`` (UTC, ISO-8601 with milliseconds), ``level``, ``logger``, ``message``, ``trace_id``, ``span_id``
(null outside a span), ``exc`` when an exception is attached, plus any JSON-simple ``extra=`` fields.

Redaction is a second line of defence (code must not log secrets in the first place): the configured API
key and secret, the OTLP header values, and anything shaped like an ``X-PCK``/``X-Signature``/``X-Stamp``
or ``Authorization`` header value are replaced by ``[REDACTED]`` in the message, the extras, the exception
text and, finally, the whole rendered line. The log file gets the same lines through the same filter.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from btcbot.errors import ConfigError
from btcbot.settings import Settings
from btcbot.telemetry.redact import REDACTED, Redactor, secrets_of

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "RedactionFilter",
    "Redactor",
    "close_log_file",
    "configure_log_file",
    "configure_logging",
    "secrets_of",
]

_HANDLER_MARK = "_btcbot_json_handler"

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime", "taskName"}
)


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
    redactor = Redactor.for_settings(settings)
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


def configure_log_file(settings: Settings) -> logging.Handler | None:
    """Also write the logs to LOG_FILE (by default ``btcbot.log`` beside the DB), rotated at LOG_FILE_MAX_BYTES
    with LOG_FILE_BACKUPS old files kept, as the same redacted JSON lines as stderr. None when LOG_FILE=off.

    A file that cannot be opened is a ConfigError (exit 2, before anything is sent): the runbook's incident
    section archives it, so a run must not start believing it keeps one. Undo with ``close_log_file``.
    """
    path = settings.log_file_path
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=settings.log_file_max_bytes, backupCount=settings.log_file_backups, encoding="utf-8"
        )
    except OSError as exc:
        raise ConfigError(
            f"LOG_FILE {path}: cannot open it for writing ({exc.strerror or type(exc).__name__}); fix the "
            "directory's permissions, point LOG_FILE at a writable file, or set LOG_FILE=off"
        ) from None
    redactor = Redactor.for_settings(settings)
    handler.setFormatter(JsonFormatter(redactor))
    handler.addFilter(RedactionFilter(redactor))
    handler.setLevel(logging.getLevelName(settings.log_level.value))
    logging.getLogger().addHandler(handler)
    return handler


def close_log_file(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()
