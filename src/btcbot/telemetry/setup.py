"""Build the OpenTelemetry SDK pipeline from Settings (never from os.environ directly).

Exporter selection follows the standard variables, with one deliberate difference: nothing configured means
no network exporter at all (the SDK default would be OTLP to localhost).

* ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``: comma list of ``otlp``, ``console``, ``none``.
  Unset: ``otlp`` if an OTLP endpoint is configured for that signal, else nothing.
* ``OTEL_EXPORTER_OTLP_ENDPOINT`` is a base URL (``/v1/traces`` and ``/v1/metrics`` are appended);
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``..._METRICS_ENDPOINT`` are used as given. ``otlp`` chosen
  explicitly with no endpoint uses the standard default ``http://localhost:4318``. Transport: OTLP/HTTP protobuf.
* ``OTEL_SDK_DISABLED=true``: API no-ops everywhere (no spans, no trace ids, no metrics).
* ``TRACE_SINK_ENABLED`` / ``TRACE_SINK_MAX_BYTES``: the local JSON-lines sink (see ``sink.py``).
* ``METRICS_PORT`` / ``METRICS_HOST``: Prometheus ``/metrics`` over HTTP (see ``prometheus.py``).

Every span exporter sits behind a ``WindowSpanProcessor``: spans leave the process only in the quiet window
between cycles (``quiet_window.run``), never while a cycle decides.
"""

from __future__ import annotations

import atexit
import os
import platform
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal.exemplar import AlwaysOffExemplarFilter
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    InMemoryMetricReader,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from btcbot.errors import ConfigError
from btcbot.settings import Settings
from btcbot.telemetry import _switch, quiet_window
from btcbot.telemetry.redact import RedactingSpanExporter, Redactor
from btcbot.telemetry.sink import JsonlSpanExporter, sink_path

if TYPE_CHECKING:
    from btcbot.telemetry.prometheus import MetricsEndpoint
from btcbot.telemetry.window_export import WindowSpanProcessor

DEFAULT_OTLP_ENDPOINT = "http://localhost:4318"
_KNOWN_EXPORTERS = frozenset({"otlp", "console", "none"})


@dataclass(frozen=True)
class ExportPlan:
    """What configure_telemetry will build; computed without side effects (doctor/config show can use it)."""

    sdk_enabled: bool
    traces_otlp_endpoint: str | None
    traces_console: bool
    metrics_otlp_endpoint: str | None
    metrics_console: bool
    sink_enabled: bool
    metrics_port: int | None = None


def _exporters(var: str, raw: str) -> set[str]:
    names = {p.strip().lower() for p in raw.split(",") if p.strip()}
    unknown = names - _KNOWN_EXPORTERS
    if unknown:
        raise ConfigError(f"{var}: unsupported exporter {', '.join(sorted(unknown))!s} (accepted: otlp, console, none)")
    return set() if "none" in names else names


def _signal_endpoint(settings: Settings, specific: str, path: str, chosen: set[str]) -> str | None:
    if specific:
        return specific if ("otlp" in chosen or not chosen) else None
    base = settings.otel_exporter_otlp_endpoint
    if base and ("otlp" in chosen or not chosen):
        return base.rstrip("/") + path
    if "otlp" in chosen:
        return DEFAULT_OTLP_ENDPOINT + path
    return None


def export_plan(settings: Settings) -> ExportPlan:
    traces = _exporters("OTEL_TRACES_EXPORTER", settings.otel_traces_exporter)
    metrics = _exporters("OTEL_METRICS_EXPORTER", settings.otel_metrics_exporter)
    traces_none = settings.otel_traces_exporter.strip().lower() == "none"
    metrics_none = settings.otel_metrics_exporter.strip().lower() == "none"
    return ExportPlan(
        sdk_enabled=not settings.otel_sdk_disabled,
        traces_otlp_endpoint=None
        if traces_none
        else _signal_endpoint(settings, settings.otel_exporter_otlp_traces_endpoint, "/v1/traces", traces),
        traces_console="console" in traces,
        metrics_otlp_endpoint=None
        if metrics_none
        else _signal_endpoint(settings, settings.otel_exporter_otlp_metrics_endpoint, "/v1/metrics", metrics),
        metrics_console="console" in metrics,
        sink_enabled=settings.trace_sink_enabled,
        metrics_port=settings.metrics_port,
    )


def parse_headers(raw: str) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_HEADERS``: ``key=value`` pairs, comma separated, values URL-encoded."""
    headers: dict[str, str] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            # Never echo the value: headers usually carry a collector token.
            raise ConfigError("OTEL_EXPORTER_OTLP_HEADERS: expected key=value pairs separated by commas")
        headers[unquote(key.strip()).lower()] = unquote(value.strip())
    return headers


def _version() -> str:
    try:
        return metadata.version("btcbot")
    except metadata.PackageNotFoundError:
        return "0"


def build_resource(settings: Settings, run_id: str | None = None, extra: Mapping[str, str] | None = None) -> Resource:
    attrs: dict[str, Any] = {
        "service.name": settings.otel_service_name,
        "service.version": _version(),
        "service.instance.id": uuid.uuid4().hex,
        "host.name": platform.node(),
        "process.pid": os.getpid(),
    }
    if run_id:
        attrs["btcbot.run_id"] = run_id
    attrs.update(extra or {})
    # Resource() rather than Resource.create(): the latter reads OTEL_RESOURCE_ATTRIBUTES from the environment.
    return Resource(attrs)


@dataclass
class TelemetryHandle:
    """The configured pipeline. ``shutdown`` flushes and returns the process to API no-ops."""

    settings: Settings | None
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    sink: JsonlSpanExporter | None = None
    span_exporter: InMemorySpanExporter | None = None
    metric_reader: InMemoryMetricReader | None = None
    metrics_endpoint: MetricsEndpoint | None = None
    window_processors: tuple[WindowSpanProcessor, ...] = ()
    key: tuple[Any, ...] = ()
    _closed: bool = field(default=False, repr=False)

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None

    @property
    def metrics_port(self) -> int | None:
        """The port serving Prometheus /metrics (the OS's choice when METRICS_PORT=0), None when not served."""
        return self.metrics_endpoint.port if self.metrics_endpoint is not None else None

    def export_window(self, timeout_s: float) -> bool:
        """The quiet window's work: every span ended so far leaves through its exporters (waits <= timeout_s)."""
        deadline = time.monotonic() + timeout_s
        ok = True
        for processor in self.window_processors:
            ok = processor.export_window(deadline - time.monotonic()) and ok
        return ok

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        ok = True
        if self.tracer_provider is not None:
            ok = self.tracer_provider.force_flush(timeout_millis) and ok
        if self.meter_provider is not None:
            ok = self.meter_provider.force_flush(timeout_millis) and ok
        return ok

    def shutdown(self) -> None:
        global _current
        with _lock:
            if self._closed:
                return
            self._closed = True
            quiet_window.uninstall(self.export_window)
            if _current is self:
                _current = None
                tracers, meters = _switch.install()
                tracers.switch_to(trace_api.NoOpTracerProvider())
                meters.switch_to(metrics_api.NoOpMeterProvider())
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.close()


_lock = threading.RLock()
_current: TelemetryHandle | None = None
_atexit_registered = False


def current_handle() -> TelemetryHandle | None:
    return _current


def _shutdown_current() -> None:
    handle = _current
    if handle is not None:
        handle.shutdown()


def configure_telemetry(
    settings: Settings,
    *,
    run_id: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    extra_span_processors: Sequence[SpanProcessor] = (),
    extra_metric_readers: Sequence[MetricReader] = (),
) -> TelemetryHandle:
    """Install the SDK pipeline described by ``settings`` as the process's telemetry.

    Idempotent: called again with the same settings and run id, it returns the live handle. Called with a
    different configuration, it shuts the previous pipeline down (flushing it) and installs the new one, so
    every tracer and instrument already handed out follows the newest configuration.
    """
    global _current, _atexit_registered
    plan = export_plan(settings)  # validates before anything is torn down
    headers = (
        parse_headers(settings.otel_exporter_otlp_headers.get_secret_value())
        if settings.otel_exporter_otlp_headers
        else {}
    )
    key = (settings, run_id, tuple(sorted((resource_attributes or {}).items())))
    with _lock:
        if _current is not None and _current.key == key and not extra_span_processors and not extra_metric_readers:
            return _current
        if _current is not None:
            _current.shutdown()
        tracers, meters = _switch.install()
        if not plan.sdk_enabled:
            tracers.switch_to(trace_api.NoOpTracerProvider())
            meters.switch_to(metrics_api.NoOpMeterProvider())
            _current = TelemetryHandle(settings=settings, key=key)
            return _current

        endpoint: MetricsEndpoint | None = None
        if plan.metrics_port is not None:  # first: a port that cannot be bound leaves nothing half-built
            from btcbot.telemetry.prometheus import serve_metrics

            endpoint = serve_metrics(settings.metrics_host, plan.metrics_port)
        resource = build_resource(settings, run_id, resource_attributes)
        tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        redactor = Redactor.for_settings(settings)
        sink: JsonlSpanExporter | None = None
        windowed: list[WindowSpanProcessor] = []
        if plan.sink_enabled:
            sink = JsonlSpanExporter(sink_path(settings.state_dir), settings.trace_sink_max_bytes)
            windowed.append(WindowSpanProcessor(RedactingSpanExporter(sink, redactor), name="sink"))
        if plan.traces_otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            otlp = OTLPSpanExporter(
                endpoint=plan.traces_otlp_endpoint,
                headers=headers,
                timeout=10,
                meter_provider=metrics_api.NoOpMeterProvider(),
            )
            windowed.append(WindowSpanProcessor(RedactingSpanExporter(otlp, redactor), name="otlp"))
        if plan.traces_console:
            windowed.append(WindowSpanProcessor(RedactingSpanExporter(ConsoleSpanExporter(), redactor), name="console"))
        for processor in (*windowed, *extra_span_processors):
            tracer_provider.add_span_processor(processor)

        readers: list[MetricReader] = list(extra_metric_readers)
        interval = settings.otel_metric_export_interval
        if plan.metrics_otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            readers.append(
                PeriodicExportingMetricReader(
                    OTLPMetricExporter(endpoint=plan.metrics_otlp_endpoint, headers=headers, timeout=10),
                    export_interval_millis=interval,
                )
            )
        if plan.metrics_console:
            readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=interval))
        if endpoint is not None:
            readers.append(endpoint.reader)
        meter_provider: MeterProvider | None = None
        if readers:
            # Exemplars would add a trace lookup to every histogram record on the hot path.
            meter_provider = MeterProvider(
                metric_readers=readers,
                resource=resource,
                shutdown_on_exit=False,
                exemplar_filter=AlwaysOffExemplarFilter(),
            )
            meters.switch_to(meter_provider)
        else:
            meters.switch_to(metrics_api.NoOpMeterProvider())
        tracers.switch_to(tracer_provider)

        _current = TelemetryHandle(
            settings=settings,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            sink=sink,
            metrics_endpoint=endpoint,
            window_processors=tuple(windowed),
            key=key,
        )
        quiet_window.install(_current.export_window)
        if not _atexit_registered:
            _atexit_registered = True
            atexit.register(_shutdown_current)
        return _current


def configure_for_tests(
    settings: Settings | None = None, *, run_id: str | None = None, sink: bool = False
) -> TelemetryHandle:
    """An SDK pipeline for tests: spans in an InMemorySpanExporter (exported synchronously on end) and metrics
    in an InMemoryMetricReader, on ``handle.span_exporter`` / ``handle.metric_reader``. No network exporter
    and, unless ``sink=True``, no trace sink. Call ``handle.shutdown()`` when done.
    """
    base = settings or Settings()
    overrides: dict[str, Any] = {
        "otel_sdk_disabled": False,
        "otel_traces_exporter": "none",
        "otel_metrics_exporter": "none",
        "trace_sink_enabled": sink and base.trace_sink_enabled,
    }
    test_settings = base.model_copy(update=overrides)
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    handle = configure_telemetry(
        test_settings,
        run_id=run_id,
        extra_span_processors=[SimpleSpanProcessor(exporter)],
        extra_metric_readers=[reader],
    )
    handle.span_exporter = exporter
    handle.metric_reader = reader
    return handle
