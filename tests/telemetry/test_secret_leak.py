"""No configured secret reaches an exported span, metric or log line, through the paths that could carry one."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from btcbot.settings import Settings
from btcbot.telemetry import tracing
from btcbot.telemetry.logs import configure_logging
from btcbot.telemetry.metrics import get_metrics
from btcbot.telemetry.setup import configure_telemetry
from btcbot.telemetry.sink import sink_files, sink_path
from btcbot.testing.json_venue import json_venue

API_KEY = "LEAKCANARYKEY-7f3a9c"
API_SECRET = "TGVha0NhbmFyeVNlY3JldC05OWQy"  # base64, like a real BTCTurk secret
OTLP_TOKEN = "otlp-canary-token-5e1b"
SECRETS = (API_KEY, API_SECRET, OTLP_TOKEN)


def _echoing_venue(path: str, headers: Mapping[str, str]) -> tuple[int, Any]:
    """A hostile venue: echoes the request's auth headers back in its bodies, as some error pages do."""
    echoed = {k: v for k, v in headers.items() if k.lower().startswith("x-")}
    if path.startswith("/api/v1/users/balances"):
        return 200, {"success": True, "message": f"headers {echoed}", "code": 0, "data": []}
    return 401, {"success": False, "message": f"bad signature for {echoed}", "code": 1001, "data": None}


@pytest.fixture
def venue() -> Iterator[str]:
    with json_venue(_echoing_venue) as url:
        yield url


def _signed_requests(settings: Settings, base_url: str) -> int:
    """Signed requests through the real adapter when it is there; otherwise an HTTP span built the same way."""
    try:
        from btcbot.exchange.btcturk import BtcturkHttp
    except ImportError:
        BtcturkHttp = None
    if BtcturkHttp is None:
        headers = {"X-PCK": API_KEY, "X-Signature": API_SECRET}
        with tracing.start_span("GET /api/v1/users/balances", kind=SpanKind.CLIENT) as span:
            span.set_attribute("http.request.method", "GET")
            span.record_exception(RuntimeError(f"request failed with headers {headers}"))
        return 1
    http = BtcturkHttp(base_url, api_key=settings.btcturk_api_key, api_secret=settings.btcturk_api_secret)
    try:
        http.balances()
        with pytest.raises(Exception) as info:
            http.open_orders("BTCTRY")
        logging.getLogger("btcbot.exchange").error("open orders failed: %s", info.value)
    finally:
        http.close()
    return 2


def test_no_secret_in_spans_metrics_or_logs(
    tmp_path: Path, otlp_receiver: Any, venue: str, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        state_db_path=tmp_path / "state.db",
        btcturk_api_key=API_KEY,
        btcturk_api_secret=API_SECRET,
        btcturk_base_url=venue,
        otel_exporter_otlp_endpoint=otlp_receiver.url,
        otel_exporter_otlp_headers=f"authorization=Bearer%20{OTLP_TOKEN}",
    )
    root_logger = logging.getLogger()
    saved = list(root_logger.handlers), root_logger.level
    handle = configure_telemetry(settings, run_id="leak")
    try:
        configure_logging(settings)
        log = logging.getLogger("btcbot.leaktest")
        m = get_metrics()
        with tracing.start_span("cycle", root=True, attributes={"btcbot.cycle_id": 1}) as root:
            http_spans = _signed_requests(settings, venue)
            # Careless code paths the second line of defence must catch.
            log.warning("sending headers %s", {"X-PCK": API_KEY, "X-Stamp": "1700000000000", "X-Signature": "c2ln"})
            log.info("credentials %s/%s", API_KEY, API_SECRET, extra={"detail": f"key={API_KEY}"})
            try:
                raise RuntimeError(f"auth failed for {API_KEY} with {API_SECRET}")
            except RuntimeError as exc:
                log.exception("exception with secrets")
                root.record_exception(exc)
            root.set_attribute("btcbot.note", f"X-PCK: {API_KEY}")
            m.orders_submitted.add(1, {"btcbot.symbol": "BTCTRY"})
            m.order_submit_latency_ms.record(2.5)
        handle.force_flush()
    finally:
        handle.shutdown()
        for h in list(root_logger.handlers):
            if h not in saved[0]:
                root_logger.removeHandler(h)
        root_logger.setLevel(saved[1])

    logs = capsys.readouterr().err
    sink_text = "".join(p.read_text() for p in sink_files(sink_path(tmp_path)))
    exported = b"".join(otlp_receiver.raw)

    # The paths did run and were exported: HTTP client spans, the logs, the metrics.
    client_spans = [s for s in otlp_receiver.spans() if s.kind == 3]  # SPAN_KIND_CLIENT
    assert len(client_spans) == http_spans
    assert "exception with secrets" in logs and "[REDACTED]" in logs
    assert "order_submit_latency_ms" in otlp_receiver.metric_names()
    assert "cycle" in sink_text
    for secret in SECRETS:
        assert secret not in logs, "secret in a log line"
        assert secret not in sink_text, "secret in the trace sink"
        assert secret.encode() not in exported, "secret in an OTLP span or metric payload"
    for request_headers in otlp_receiver.headers:
        assert request_headers["authorization"] == f"Bearer {OTLP_TOKEN}"  # the token went where it belongs
