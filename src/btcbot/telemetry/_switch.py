"""Process-global providers that can be re-pointed at a new SDK pipeline.

The OpenTelemetry API lets a process set its global tracer and meter providers only once. btcbot installs
these two switches once and then swaps what they delegate to, so that ``configure_telemetry`` can be called
again (a test per configuration, a second command in one process) and every tracer and instrument already
handed out — including the ones bound at import time — follows the newest configuration.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, TypeVar

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackT
from opentelemetry.metrics._internal import _ProxyMeter, _ProxyMeterProvider
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.types import Attributes


class SwitchTracerProvider(trace.TracerProvider):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._delegate: trace.TracerProvider = trace.NoOpTracerProvider()
        self._generation = 0
        self._tracers: dict[tuple[str, str | None, str | None], SwitchTracer] = {}

    @property
    def current(self) -> tuple[int, trace.TracerProvider]:
        return self._generation, self._delegate

    def switch_to(self, provider: trace.TracerProvider) -> None:
        with self._lock:
            self._delegate = provider
            self._generation += 1

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> trace.Tracer:
        key = (instrumenting_module_name, instrumenting_library_version, schema_url)
        tracer = self._tracers.get(key)
        if tracer is None:
            with self._lock:
                tracer = self._tracers.setdefault(key, SwitchTracer(self, key))
        return tracer


class SwitchTracer(trace.Tracer):
    def __init__(self, switch: SwitchTracerProvider, key: tuple[str, str | None, str | None]) -> None:
        self._switch = switch
        self._key = key
        self._generation = -1
        self._tracer: trace.Tracer = trace.NoOpTracer()

    def _real(self) -> trace.Tracer:
        generation, provider = self._switch.current
        if generation != self._generation:
            self._tracer = provider.get_tracer(*self._key)
            self._generation = generation
        return self._tracer

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        return self._real().start_span(
            name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
        )

    # Hands back the real tracer's context manager itself: no extra generator layer on the hot path.
    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._real().start_as_current_span(*args, **kwargs)


_T = TypeVar("_T")


class SwitchMeter(_ProxyMeter):
    """The API's proxy meter, except that every instrument stays a proxy and follows every switch.

    (The stock proxy meter hands out real instruments once a provider is set, which would pin them.)
    """

    def __init__(self, name: str, version: str | None = None, schema_url: str | None = None) -> None:
        super().__init__(name, version=version, schema_url=schema_url)
        self._actual: metrics.Meter | None = None

    def on_set_meter_provider(self, meter_provider: metrics.MeterProvider) -> None:
        real = meter_provider.get_meter(self._name, self._version, self._schema_url)
        with self._lock:
            self._actual = real
            for instrument in self._instruments:
                instrument.on_meter_set(real)

    def _bind(self, proxy: _T) -> _T:
        actual = self._actual
        if actual is not None:
            proxy.on_meter_set(actual)  # type: ignore[attr-defined]
        return proxy

    def create_counter(self, name: str, unit: str = "", description: str = "") -> metrics.Counter:
        return self._bind(super().create_counter(name, unit, description))

    def create_up_down_counter(self, name: str, unit: str = "", description: str = "") -> metrics.UpDownCounter:
        return self._bind(super().create_up_down_counter(name, unit, description))

    def create_observable_counter(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableCounter:
        return self._bind(super().create_observable_counter(name, callbacks, unit, description))

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> metrics.Histogram:
        return self._bind(
            super().create_histogram(
                name, unit, description, explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory
            )
        )

    def create_gauge(self, name: str, unit: str = "", description: str = "") -> metrics._Gauge:
        return self._bind(super().create_gauge(name, unit, description))

    def create_observable_gauge(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableGauge:
        return self._bind(super().create_observable_gauge(name, callbacks, unit, description))

    def create_observable_up_down_counter(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableUpDownCounter:
        return self._bind(super().create_observable_up_down_counter(name, callbacks, unit, description))


class SwitchMeterProvider(_ProxyMeterProvider):
    """Always hands out proxy meters (the API's own), re-bound on every switch."""

    def __init__(self) -> None:
        super().__init__()
        self._by_key: dict[tuple[str, str | None, str | None], SwitchMeter] = {}
        self._real_meter_provider = metrics.NoOpMeterProvider()

    def switch_to(self, provider: metrics.MeterProvider) -> None:
        self.on_set_meter_provider(provider)

    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> metrics.Meter:
        key = (name, version, schema_url)
        with self._lock:
            meter = self._by_key.get(key)
            if meter is None:
                meter = SwitchMeter(name, version=version, schema_url=schema_url)
                self._by_key[key] = meter
                self._meters.append(meter)
                if self._real_meter_provider is not None:
                    meter.on_set_meter_provider(self._real_meter_provider)
            return meter


_install_lock = threading.Lock()
_tracer_switch: SwitchTracerProvider | None = None
_meter_switch: SwitchMeterProvider | None = None


def install() -> tuple[SwitchTracerProvider, SwitchMeterProvider]:
    """Set the two switches as the global providers (once per process)."""
    global _tracer_switch, _meter_switch
    with _install_lock:
        if _tracer_switch is None or _meter_switch is None:
            _tracer_switch = SwitchTracerProvider()
            _meter_switch = SwitchMeterProvider()
            trace.set_tracer_provider(_tracer_switch)
            metrics.set_meter_provider(_meter_switch)
            if trace.get_tracer_provider() is not _tracer_switch or metrics.get_meter_provider() is not _meter_switch:
                # Someone set the globals first (a library or a test); btcbot's configuration cannot take effect.
                logging.getLogger(__name__).warning(
                    "OpenTelemetry global providers were already set elsewhere; btcbot telemetry settings are ignored"
                )
        return _tracer_switch, _meter_switch
