"""Prometheus ``/metrics``: OpenTelemetry's Prometheus reader behind prometheus_client's HTTP server.

Each server gets a registry of its own (not prometheus_client's global one), so configuring telemetry again
in one process (tests, a second command) never registers the same metric names twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from prometheus_client import CollectorRegistry, start_http_server

from btcbot.errors import ConfigError

_log = logging.getLogger(__name__)


@dataclass
class MetricsEndpoint:
    """The reader to hand to the MeterProvider and the HTTP server that serves what it collects."""

    reader: PrometheusMetricReader
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The bound port (the OS's choice when METRICS_PORT=0)."""
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server.server_address[0])
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5.0)


def serve_metrics(host: str, port: int) -> MetricsEndpoint:
    """Start serving ``/metrics`` on ``host:port``; a port that cannot be bound is a ConfigError."""
    registry = CollectorRegistry(auto_describe=True)
    reader = PrometheusMetricReader(registry=registry)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        reader.shutdown()
        raise ConfigError(
            f"METRICS_PORT {port} on METRICS_HOST {host} cannot be served ({exc.strerror or type(exc).__name__}); "
            "choose a free port, or unset METRICS_PORT to serve no metrics"
        ) from None
    endpoint = MetricsEndpoint(reader, server, thread)
    _log.info("serving Prometheus metrics at %s", endpoint.url)
    return endpoint
