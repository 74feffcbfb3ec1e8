"""Structured JSON logs: fields, trace correlation, LOG_LEVEL, redaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from btcbot.settings import Settings
from btcbot.telemetry import tracing
from btcbot.telemetry.logs import configure_logging
from btcbot.telemetry.setup import TelemetryHandle


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def _lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_json_lines_carry_trace_and_span_ids(
    telemetry: TelemetryHandle, restore_root_logging: None, capsys: Any
) -> None:
    configure_logging(Settings(log_level="INFO"))
    log = logging.getLogger("btcbot.runtime.test")
    log.info("outside")
    with tracing.start_span("cycle", root=True) as span:
        log.info("cycle %d done", 3, extra={"cycle_id": 3})
        trace_id = tracing.trace_id_hex(span)
        span_id = format(span.get_span_context().span_id, "016x")
    outside, inside = _lines(capsys.readouterr().err)
    assert outside["trace_id"] is None and outside["span_id"] is None
    assert inside["message"] == "cycle 3 done"
    assert inside["trace_id"] == trace_id and inside["span_id"] == span_id
    assert inside["level"] == "INFO" and inside["logger"] == "btcbot.runtime.test"
    assert inside["cycle_id"] == 3
    assert inside["ts"].endswith("+00:00")


def test_log_level_is_honoured(restore_root_logging: None, capsys: Any) -> None:
    configure_logging(Settings(log_level="WARNING"))
    log = logging.getLogger("btcbot.level")
    log.info("hidden")
    log.warning("shown")
    assert [line["message"] for line in _lines(capsys.readouterr().err)] == ["shown"]
    # Reconfiguring replaces the handler rather than adding a second one.
    configure_logging(Settings(log_level="DEBUG"))
    log.debug("debug now")
    assert [line["message"] for line in _lines(capsys.readouterr().err)] == ["debug now"]


def test_exceptions_are_one_json_line(restore_root_logging: None, capsys: Any) -> None:
    configure_logging(Settings())
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("btcbot.x").exception("failed")
    (line,) = _lines(capsys.readouterr().err)
    assert line["level"] == "ERROR" and "RuntimeError: boom" in line["exc"]
