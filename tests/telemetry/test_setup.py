"""configure_telemetry: idempotent, re-configurable, and instruments bound earlier follow the newest pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from btcbot.settings import Settings
from btcbot.telemetry import tracing
from btcbot.telemetry.metrics import get_metrics
from btcbot.telemetry.setup import configure_for_tests, configure_telemetry, current_handle, parse_headers


def test_same_settings_return_the_live_handle(tmp_path: Path) -> None:
    settings = Settings(state_db_path=tmp_path / "s.db")
    first = configure_telemetry(settings, run_id="r")
    try:
        assert configure_telemetry(settings, run_id="r") is first
        assert current_handle() is first
    finally:
        first.shutdown()
    first.shutdown()  # a second shutdown is harmless
    assert current_handle() is None


def test_reconfiguring_moves_spans_and_metrics_to_the_new_pipeline(points: Any) -> None:
    metrics = get_metrics()  # bound before either pipeline exists, as module-level code would be
    tracer = tracing.get_tracer()
    old = configure_for_tests()
    new = configure_for_tests()  # replaces (and shuts down) the old one
    try:
        with tracer.start_as_current_span("after"):
            metrics.orders_rejected.add(2)
        assert [s.name for s in new.span_exporter.get_finished_spans()] == ["after"]  # type: ignore[union-attr]
        assert old.span_exporter.get_finished_spans() == ()  # type: ignore[union-attr]
        assert [p.value for p in points(new)["orders_rejected"]] == [2]
    finally:
        new.shutdown()
    # After shutdown the process is back to API no-ops: no trace ids, nothing recorded anywhere.
    with tracing.start_span("cycle", root=True) as span:
        assert tracing.trace_id_hex(span) is None


def test_otlp_headers_parse() -> None:
    assert parse_headers("Authorization=Bearer%20abc, x-team=ops") == {"authorization": "Bearer abc", "x-team": "ops"}
