"""Read the local trace sink and render traces as a terminal waterfall (for ``btcbot traces``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from btcbot.telemetry.sink import sink_files

BAR_WIDTH = 32
# Attribute shown -> its short label. Method and route are already in an HTTP span's name.
_KEY_ATTRS = {
    "btcbot.cycle_id": "cycle_id",
    "btcbot.reason_code": "reason_code",
    "btcbot.mode": "mode",
    "btcbot.symbols": "symbols",
    "btcbot.symbol": "symbol",
    "http.response.status_code": "status",
    "btcturk.code": "btcturk.code",
    "error.type": "error.type",
}
_STATUS_ERROR = 2


@dataclass
class SpanRow:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int = 0
    status_message: str = ""
    children: list[SpanRow] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6


@dataclass
class TraceView:
    trace_id: str
    roots: list[SpanRow]
    spans: list[SpanRow]

    @property
    def start_ns(self) -> int:
        return min(s.start_ns for s in self.spans)

    @property
    def end_ns(self) -> int:
        return max(s.end_ns for s in self.spans)

    @property
    def root(self) -> SpanRow:
        return self.roots[0]


def _value(v: dict[str, Any]) -> Any:
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def _spans_of(request: dict[str, Any]) -> Iterable[SpanRow]:
    for rs in request.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                status = s.get("status") or {}
                yield SpanRow(
                    trace_id=str(s["traceId"]),
                    span_id=str(s["spanId"]),
                    parent_id=s.get("parentSpanId") or None,
                    name=str(s.get("name", "?")),
                    start_ns=int(s.get("startTimeUnixNano", 0)),
                    end_ns=int(s.get("endTimeUnixNano", 0)),
                    attributes={a["key"]: _value(a.get("value", {})) for a in s.get("attributes", [])},
                    status_code=int(status.get("code", 0)),
                    status_message=str(status.get("message", "")),
                )


def read_sink(path: Path) -> list[SpanRow]:
    """Every span in the sink (rotated file first). Lines cut short by a crash are skipped."""
    spans: list[SpanRow] = []
    for file in sink_files(path):
        with file.open("r", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    spans.extend(_spans_of(json.loads(line)))
                except (ValueError, KeyError, TypeError):
                    continue
    return spans


def build_traces(spans: Iterable[SpanRow]) -> list[TraceView]:
    """Group spans into trees, oldest trace first. A span whose parent is missing is shown as a root."""
    by_trace: dict[str, dict[str, SpanRow]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, {})[s.span_id] = s
    views: list[TraceView] = []
    for trace_id, members in by_trace.items():
        roots: list[SpanRow] = []
        for s in members.values():
            s.children = []
        for s in sorted(members.values(), key=lambda r: r.start_ns):
            parent = members.get(s.parent_id) if s.parent_id else None
            (parent.children if parent else roots).append(s)
        views.append(TraceView(trace_id=trace_id, roots=roots, spans=list(members.values())))
    views.sort(key=lambda v: v.start_ns)
    return views


def select(views: list[TraceView], *, last: int, trace_id: str | None) -> list[TraceView]:
    if trace_id:
        return [v for v in views if v.trace_id == trace_id.lower()]
    cycles = [v for v in views if any(r.name == "cycle" for r in v.roots)]
    return (cycles or views)[-last:]


def _bar(start: int, end: int, t0: int, total: int) -> str:
    if total <= 0:
        return "#".ljust(BAR_WIDTH)
    a = int((start - t0) / total * BAR_WIDTH)
    b = int((end - t0) / total * BAR_WIDTH + 0.999)
    a = min(max(a, 0), BAR_WIDTH - 1)
    b = min(max(b, a + 1), BAR_WIDTH)
    return " " * a + "#" * (b - a) + " " * (BAR_WIDTH - b)


def _attrs(span: SpanRow) -> str:
    parts = []
    for key, label in _KEY_ATTRS.items():
        if key in span.attributes:
            value = span.attributes[key]
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            parts.append(f"{label}={value}")
    if span.status_code == _STATUS_ERROR:
        parts.append(f"ERROR{': ' + span.status_message if span.status_message else ''}")
    return " ".join(parts)


def _name_width(view: TraceView, cap: int = 64) -> int:
    widest = 0

    def walk(span: SpanRow, depth: int) -> None:
        nonlocal widest
        widest = max(widest, 2 * depth + len(span.name))
        for child in span.children:
            walk(child, depth + 1)

    for r in view.roots:
        walk(r, 0)
    return min(max(widest, 20), cap)


def render(view: TraceView, name_width: int | None = None) -> list[str]:
    """The waterfall of one trace: a header line, then one line per span in tree order."""
    name_width = name_width or _name_width(view)
    t0, total = view.start_ns, view.end_ns - view.start_ns
    root = view.root
    run_id = root.attributes.get("btcbot.run_id", "-")
    lines = [
        f"trace {view.trace_id}  run={run_id}  cycle={root.attributes.get('btcbot.cycle_id', '-')}  "
        f"reason={root.attributes.get('btcbot.reason_code', '-')}  total={total / 1e6:.2f} ms  spans={len(view.spans)}"
    ]

    def walk(span: SpanRow, depth: int) -> None:
        label = ("  " * depth + span.name)[:name_width].ljust(name_width)
        bar = _bar(span.start_ns, span.end_ns, t0, total)
        offset = (span.start_ns - t0) / 1e6
        lines.append(f"  {label} {span.duration_ms:9.3f} ms  |{bar}|  +{offset:.3f}  {_attrs(span)}".rstrip())
        for child in span.children:
            walk(child, depth + 1)

    for r in view.roots:
        walk(r, 0)
    return lines
