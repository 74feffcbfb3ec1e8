"""Real OTLP/HTTP export to a loopback receiver, decoded with the official proto messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from btcbot.settings import Settings
from btcbot.telemetry import tracing
from btcbot.telemetry.metrics import get_metrics
from btcbot.telemetry.setup import configure_telemetry, export_plan
from btcbot.telemetry.sink import sink_path

_NAMED_METRICS = {
    "order_submit_latency_ms",
    "reconcile_lag_ms",
    "market_data_age_ms",
    "cycle_duration_ms",
    "invalid_best_bid_count",
    "stale_market_data_blocks",
    "orders_submitted",
    "stale_market_data_rate",
}


def _emit_cycle() -> str:
    m = get_metrics()
    with tracing.start_span(
        "cycle", root=True, attributes={"btcbot.run_id": "run-otlp", "btcbot.cycle_id": 1, "btcbot.mode": "dry_run"}
    ) as root:
        with tracing.start_span("feed"):
            m.market_data_age_ms.record(120.0)
            m.invalid_best_bid_count.add(1)
        with tracing.start_span("freshness_guard"):
            m.stale_market_data_rate.set(0.0)
            m.stale_market_data_blocks.add(0)
        with tracing.start_span("order_submit"):
            m.orders_submitted.add(1)
            m.order_submit_latency_ms.record(3.2)
        with tracing.start_span("reconcile"):
            m.reconcile_lag_ms.record(40.0)
        root.set_attribute("btcbot.reason_code", "ok")
        trace_id = tracing.trace_id_hex(root)
    m.cycle_duration_ms.record(5.0)
    assert trace_id is not None
    return trace_id


def test_spans_and_metrics_arrive_over_otlp_http(otlp_receiver: Any, tmp_path: Path) -> None:
    settings = Settings(
        state_db_path=tmp_path / "state.db",
        otel_exporter_otlp_endpoint=otlp_receiver.url,
        otel_exporter_otlp_headers="x-collector-token=tok%20123",
        otel_service_name="btcbot-test",
    )
    handle = configure_telemetry(settings, run_id="run-otlp")
    try:
        trace_id = _emit_cycle()
        assert handle.force_flush()
    finally:
        handle.shutdown()

    spans = otlp_receiver.spans()
    by_name = {s.name: s for s in spans}
    assert {"cycle", "feed", "freshness_guard", "order_submit", "reconcile"} <= set(by_name)
    cycle = by_name["cycle"]
    assert cycle.trace_id.hex() == trace_id
    assert cycle.parent_span_id == b""
    for child in ("feed", "freshness_guard", "order_submit", "reconcile"):
        assert by_name[child].parent_span_id == cycle.span_id
    attrs = {a.key: a.value for a in cycle.attributes}
    assert attrs["btcbot.cycle_id"].int_value == 1
    assert attrs["btcbot.reason_code"].string_value == "ok"
    resource = {a.key: a.value.string_value for a in otlp_receiver.traces[0].resource_spans[0].resource.attributes}
    assert resource["service.name"] == "btcbot-test"
    assert resource["btcbot.run_id"] == "run-otlp"

    assert otlp_receiver.metric_names() >= _NAMED_METRICS
    assert all(h.get("x-collector-token") == "tok 123" for h in otlp_receiver.headers)
    # The local sink ran alongside the network exporter.
    assert trace_id in sink_path(tmp_path).read_text()


def test_nothing_configured_means_no_network_exporter(tmp_path: Path) -> None:
    plan = export_plan(Settings(state_db_path=tmp_path / "s.db"))
    assert plan.traces_otlp_endpoint is None and plan.metrics_otlp_endpoint is None
    assert not plan.traces_console and not plan.metrics_console
    handle = configure_telemetry(Settings(state_db_path=tmp_path / "s.db"))
    try:
        processors = handle.tracer_provider._active_span_processor._span_processors  # type: ignore[union-attr]
        exporters = [type(p.span_exporter.inner).__name__ for p in processors]  # type: ignore[attr-defined]
        assert exporters == ["JsonlSpanExporter"]
        assert handle.meter_provider is None
    finally:
        handle.shutdown()


def test_exporter_selection_follows_the_standard_variables(tmp_path: Path) -> None:
    base = {"state_db_path": tmp_path / "s.db"}
    plan = export_plan(Settings(**base, otel_traces_exporter="otlp"))
    assert plan.traces_otlp_endpoint == "http://localhost:4318/v1/traces"
    assert plan.metrics_otlp_endpoint is None
    plan = export_plan(
        Settings(
            **base,
            otel_exporter_otlp_endpoint="http://collector:4318/",
            otel_exporter_otlp_metrics_endpoint="http://m:9/custom",
            otel_traces_exporter="none",
        )
    )
    assert plan.traces_otlp_endpoint is None
    assert plan.metrics_otlp_endpoint == "http://m:9/custom"
    plan = export_plan(Settings(**base, otel_metrics_exporter="console", otel_exporter_otlp_endpoint="http://c:4318"))
    assert plan.metrics_console and plan.metrics_otlp_endpoint is None
    assert plan.traces_otlp_endpoint == "http://c:4318/v1/traces"


def test_unknown_exporter_is_a_config_error(tmp_path: Path) -> None:
    import pytest

    from btcbot.errors import ConfigError

    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER"):
        configure_telemetry(Settings(state_db_path=tmp_path / "s.db", otel_traces_exporter="zipkin"))


def test_sdk_disabled_is_api_noop(tmp_path: Path) -> None:
    handle = configure_telemetry(Settings(state_db_path=tmp_path / "s.db", otel_sdk_disabled=True))
    try:
        with tracing.start_span("cycle", root=True) as span:
            assert tracing.trace_id_hex(span) is None
        assert not sink_path(tmp_path).exists()
    finally:
        handle.shutdown()
