"""Local trace sink: finished spans as OTLP/JSON lines under the state directory, size-bounded.

File format: each line is one ``ExportTraceServiceRequest`` in the OTLP/JSON encoding (the same shape the
collector's ``file`` exporter writes): ``{"resourceSpans": [{"resource": ..., "scopeSpans": [{"scope": ...,
"spans": [...]}]}]}`` with hex ``traceId``/``spanId``, nanosecond times as decimal strings and enum values as
integers. One line holds one export batch (or a part of one, so that no line outgrows the size bound).

Bounded by rotation: when the next line would take ``spans.jsonl`` past ``max_bytes``, it is renamed to
``spans.jsonl.1`` (replacing the previous one) and a new file begins, so the pair never holds much more than
``2 * max_bytes`` and the newest spans are always kept.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

SINK_DIRNAME = "traces"
SINK_FILENAME = "spans.jsonl"

_log = logging.getLogger(__name__)


def sink_path(state_dir: Path) -> Path:
    return state_dir / SINK_DIRNAME / SINK_FILENAME


def sink_files(path: Path) -> list[Path]:
    """The sink's files, oldest first (the rotated one, then the current one), those that exist."""
    return [p for p in (path.with_name(path.name + ".1"), path) if p.is_file()]


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (tuple, list)):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _attributes(attrs: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not attrs:
        return []
    return [{"key": k, "value": _any_value(v)} for k, v in attrs.items()]


def encode_span(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    assert ctx is not None  # noqa: S101 - SDK spans always carry a context
    status = span.status
    out: dict[str, Any] = {
        "traceId": "%032x" % ctx.trace_id,  # noqa: UP031 - %-format is the fastest hex here (background thread)
        "spanId": "%016x" % ctx.span_id,  # noqa: UP031
        "name": span.name,
        # OTLP's SpanKind enum is the API's value plus one (0 is UNSPECIFIED).
        "kind": span.kind.value + 1,
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or span.start_time or 0),
        "attributes": _attributes(span.attributes),
        "status": {"code": status.status_code.value, "message": status.description}
        if status.description
        else {"code": status.status_code.value},
    }
    if span.parent is not None:
        out["parentSpanId"] = "%016x" % span.parent.span_id  # noqa: UP031
    if span.events:
        out["events"] = [
            {"timeUnixNano": str(e.timestamp), "name": e.name, "attributes": _attributes(e.attributes)}
            for e in span.events
        ]
    return out


def encode_request(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """An ExportTraceServiceRequest in OTLP/JSON, grouping spans by resource and instrumentation scope."""
    by_resource: dict[int, tuple[Any, dict[tuple[str, str], list[dict[str, Any]]]]] = {}
    for span in spans:
        res_key = id(span.resource)
        _, scopes = by_resource.setdefault(res_key, (span.resource, {}))
        scope = span.instrumentation_scope
        scope_key = (scope.name, scope.version or "") if scope else ("", "")
        scopes.setdefault(scope_key, []).append(encode_span(span))
    resource_spans = []
    for resource, scopes in by_resource.values():
        resource_spans.append(
            {
                "resource": {"attributes": _attributes(resource.attributes if resource else None)},
                "scopeSpans": [
                    {"scope": {"name": name, **({"version": version} if version else {})}, "spans": encoded}
                    for (name, version), encoded in scopes.items()
                ],
            }
        )
    return {"resourceSpans": resource_spans}


class JsonlSpanExporter(SpanExporter):
    """Appends each export batch to the sink file; rotation keeps one previous file."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self._path = path
        self._rotated = path.with_name(path.name + ".1")
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._warned = False
        self._shutdown = False

    @property
    def path(self) -> Path:
        return self._path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown or not spans:
            return SpanExportResult.SUCCESS
        try:
            lines = list(self._lines(list(spans)))
            with self._lock:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                for line in lines:
                    self._write(line)
        except OSError as exc:
            # The sink is a convenience: a full disk or unwritable directory must never stop trading.
            if not self._warned:
                self._warned = True
                _log.warning("trace sink %s is not writable (%s); local traces are not kept", self._path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _lines(self, spans: list[ReadableSpan]) -> Iterator[bytes]:
        line = (json.dumps(encode_request(spans), separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        if len(line) <= self._max_bytes // 4:
            yield line
        elif len(spans) > 1:
            # Split big batches so one line can never blow the bound by itself.
            mid = len(spans) // 2
            yield from self._lines(spans[:mid])
            yield from self._lines(spans[mid:])
        elif len(line) <= self._max_bytes:
            yield line
        elif not self._warned:
            self._warned = True
            _log.warning("span %r is larger than TRACE_SINK_MAX_BYTES; it is not kept in the sink", spans[0].name)

    def _write(self, line: bytes) -> None:
        try:
            size = self._path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size and size + len(line) > self._max_bytes:
            os.replace(self._path, self._rotated)
        # O_APPEND keeps whole lines intact even if another process appends to the same sink.
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
